"""Grain segmentation by symmetry-aware misorientation between face neighbours.

Two face-neighbouring indexed pixels belong to the same grain when their disorientation
(smallest rotation angle over the crystal symmetry) is below a threshold; grains are the
connected components of that graph (scipy's sparse connected components), across the
periodic boundary when asked. 2D maps and 3D volumes alike. Components below a minimum size
("speckle") are dissolved into their nearest larger grain; what they held, the misorientation of
every face-neighbour pair across a boundary and the share of grain-interior pixels are kept on
the :class:`Grains` for the grain metrics (:mod:`mcrpy_poly.evaluate.grain_metrics`) and the
grain stage of a reconstruction. :func:`label_components` makes the same components of a label
field (a tessellation), with equal labels in place of close orientations.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import ndimage, sparse
from scipy.sparse.csgraph import connected_components

from .errors import InputError
from .orientation.quaternion import misorientation_angle, multiply, normalize

#: Smallest grain, in pixels, by dimension: 5 pixels in 2D, 27 voxels (3 x 3 x 3) in 3D.
MIN_SIZE = {2: 5, 3: 27}
#: Default largest disorientation (degrees) between face neighbours of one grain (the usual EBSD
#: threshold): the grain metrics, the grain stage and the grain-structured start all use it.
THRESHOLD = 5.0


def face_neighbour_pairs(shape, periodic: bool):
    """Flat indices of all face-neighbour pairs of a grid, one entry per axis.

    Parameters
    ----------
    shape : tuple of int
        ``(H, W)`` or ``(H, W, D)``.
    periodic : bool
        Also pair the last and the first pixel along each axis (axes of size > 1).

    Returns
    -------
    list of (numpy.ndarray, numpy.ndarray)
        Per axis, the flat indices ``first`` and ``second`` (``second`` is one step
        further along the axis), each of shape ``(n_pairs_axis,)``.
    """
    flat = np.arange(int(np.prod(shape))).reshape(shape)
    pairs = []
    for axis, size in enumerate(shape):
        if periodic and size > 1:
            pairs.append((flat.ravel(), np.roll(flat, -1, axis=axis).ravel()))
        else:
            first = np.take(flat, np.arange(size - 1), axis=axis)
            second = np.take(flat, np.arange(1, size), axis=axis)
            pairs.append((first.ravel(), second.ravel()))
    return pairs


def cell_boundaries(labels: np.ndarray, periodic: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The pairs of adjacent cells of a label field and the length of their common boundary.

    Parameters
    ----------
    labels : numpy.ndarray of int, shape (*shape)
        Cell ids ``0 .. n - 1``; negative: in no cell (no boundary).
    periodic : bool
        Whether cells touch across the field's faces.

    Returns
    -------
    pairs : numpy.ndarray of int, shape (m, 2)
        Adjacent cells ``a < b``, each pair once.
    lengths : numpy.ndarray of int, shape (m,)
        Face-neighbour pixel pairs between them.
    """
    flat = labels.ravel()
    pairs = np.concatenate([np.stack([flat[first], flat[second]], axis=1)
                            for first, second in face_neighbour_pairs(labels.shape, periodic)])
    pairs = np.sort(pairs[(pairs[:, 0] != pairs[:, 1]) & (pairs.min(axis=1) >= 0)], axis=1)
    pairs, lengths = np.unique(pairs, axis=0, return_counts=True)
    return pairs.reshape(-1, 2), lengths



@dataclass(frozen=True, eq=False)
class Grains:
    """Grains of an orientation map.

    Attributes
    ----------
    labels : numpy.ndarray of int, shape (H, W[, D])
        Grain id of every pixel, ``0 .. n_grains - 1``; ``-1`` for non-indexed pixels.
    orientations : numpy.ndarray, shape (n_grains, 4)
        Mean orientation of each grain (orix convention).
    symmetry : Symmetry
        Crystal symmetry of the phase.
    step : tuple of float
        Pixel spacing per axis (um).
    periodic : bool
        Whether the map was treated as periodic (grains continue across its faces).
    threshold : float
        Misorientation threshold in degrees.
    min_size : int
        Smallest grain kept, in pixels.
    speckle_fraction : float
        Share of the indexed pixels that were in components below ``min_size`` (dissolved).
    boundary_angles : numpy.ndarray, shape (n_boundary_pairs,)
        Disorientation (degrees) of every face-neighbour pixel pair at or above ``threshold``.
    interior_fraction : float
        Share of the indexed pixels whose face neighbours (all ``2 * ndim`` of them; at a
        non-periodic edge the ones inside the map) lie within ``threshold``.
    """

    labels: np.ndarray
    orientations: np.ndarray
    symmetry: object
    step: tuple
    periodic: bool
    threshold: float
    min_size: int
    speckle_fraction: float = 0.0
    boundary_angles: np.ndarray = None
    interior_fraction: float = float("nan")

    @property
    def n_grains(self) -> int:
        return len(self.orientations)

    @property
    def ndim(self) -> int:
        return self.labels.ndim

    @cached_property
    def sizes(self) -> np.ndarray:
        """Pixels per grain, shape ``(n_grains,)``."""
        return np.bincount(self.labels[self.labels >= 0], minlength=self.n_grains)

    @cached_property
    def neighbour_pairs(self) -> np.ndarray:
        """Distinct pairs of touching grains ``(i, j)``, ``i < j``, shape ``(n_pairs, 2)``
        (:func:`cell_boundaries`)."""
        return cell_boundaries(self.labels, self.periodic)[0]

    @cached_property
    def relative_coordinates(self) -> np.ndarray:
        """Position of every labelled pixel relative to a reference pixel of its grain, in
        um, shape ``(n_labelled, ndim)`` (pixels in ``labels >= 0`` order); across a
        periodic face the shorter way round, so grains that wrap stay whole (valid for
        grains narrower than half the map)."""
        shape = np.array(self.labels.shape)
        coords = np.argwhere(self.labels >= 0)
        labels = self.labels[self.labels >= 0]
        _, first = np.unique(labels, return_index=True)
        offset = coords - coords[first][labels]
        if self.periodic:
            offset = (offset + shape // 2) % shape - shape // 2
        return offset * np.asarray(self.step)


def label_components(labels: np.ndarray, periodic: bool = True, min_size: int | None = None) -> np.ndarray:
    """Connected components of equal labels, as :func:`segment_grains` makes grains of a map.

    Face neighbours with the same label are connected (across opposite faces when ``periodic``);
    components below ``min_size`` pixels are dissolved into the nearest larger one.

    Parameters
    ----------
    labels : numpy.ndarray of int, shape (H, W[, D])
        Cell id of every pixel (a tessellation); negative: in no cell (like a non-indexed pixel).
    periodic : bool
        Connect pixels across opposite faces (a cell that wraps round the edge is one component).
    min_size : int, optional
        Default :data:`MIN_SIZE` of the field's dimension.

    Returns
    -------
    numpy.ndarray of int, shape (H, W[, D])
        Component id of every pixel, ``0 .. n - 1`` (``n = max + 1`` components of at least
        ``min_size`` pixels); ``-1`` where ``labels`` is negative (or no component is large enough).
    """
    labels = np.asarray(labels)
    min_size = _resolved_min_size(labels.ndim, min_size)
    flat = labels.ravel()
    edges = []
    for first, second in face_neighbour_pairs(labels.shape, periodic):
        same = flat[first] == flat[second]
        edges.append((first[same], second[same]))
    return _drop_small(_components(labels.shape, edges, flat >= 0), min_size)[0]


def segment_grains(omap, threshold: float = THRESHOLD, periodic: bool = True, min_size: int | None = None) -> Grains:
    """Segment a map or volume into grains.

    Parameters
    ----------
    omap : OrientationMap
        2D map or 3D volume; non-indexed pixels belong to no grain.
    threshold : float
        Largest disorientation (degrees) between face neighbours of one grain.
    periodic : bool
        Connect pixels across opposite faces (for periodic reconstructions and synthetic
        maps; EBSD maps are not periodic).
    min_size : int, optional
        Default :data:`MIN_SIZE` of the map's dimension. Grains of fewer pixels are dissolved:
        their pixels join the nearest larger grain (Euclidean distance on the grid). Their
        orientations do not enter the grain means.

    Returns
    -------
    Grains
    """
    if not threshold > 0:
        raise InputError(f"grain threshold must be a positive angle in degrees, got {threshold}")
    min_size = _resolved_min_size(omap.ndim, min_size)
    quaternions = omap.quaternions.reshape(-1, 4)
    indexed = omap.indexed.ravel()
    edges, boundary_angles = [], []
    open_ends = np.zeros(len(quaternions), np.int64)  # incident pairs across a boundary, per pixel
    for first, second in face_neighbour_pairs(omap.shape, periodic):
        both = indexed[first] & indexed[second]
        first, second = first[both], second[both]
        # Most neighbours are close without any symmetry operator: test those first.
        close = np.abs(np.sum(quaternions[first] * quaternions[second], axis=1)) > np.cos(np.radians(threshold) / 2)
        rest = np.flatnonzero(~close)
        angles = misorientation_angle(quaternions[first[rest]], quaternions[second[rest]], omap.symmetry.quaternions)
        close[rest] = angles < np.radians(threshold)
        boundary_angles.append(np.degrees(angles[angles >= np.radians(threshold)]))
        edges.append((first[close], second[close]))
        np.add.at(open_ends, first[~close], 1)
        np.add.at(open_ends, second[~close], 1)
    component = _components(omap.shape, edges, indexed)
    labels, core = _drop_small(component, min_size)
    orientations = mean_orientations(omap.quaternions[core], labels[core], omap.symmetry.quaternions)
    n_indexed = max(int(indexed.sum()), 1)
    return Grains(labels=labels, orientations=orientations, symmetry=omap.symmetry, step=omap.step,
                  periodic=bool(periodic), threshold=float(threshold), min_size=min_size,
                  speckle_fraction=float(np.sum((component >= 0) & ~core)) / n_indexed,
                  boundary_angles=np.concatenate(boundary_angles),
                  interior_fraction=float(np.sum(indexed & (open_ends == 0))) / n_indexed)


def _resolved_min_size(ndim: int, min_size) -> int:
    """``min_size``, default :data:`MIN_SIZE` of ``ndim``; at least 1 pixel."""
    min_size = MIN_SIZE[ndim] if min_size is None else int(min_size)
    if min_size < 1:
        raise InputError(f"min_size must be at least 1 pixel, got {min_size}")
    return min_size


def _components(shape, edges, member) -> np.ndarray:
    """Connected components ``(*shape)`` of the graph on the pixels of a grid: ``edges``, a list of
    flat index arrays ``(first, second)``, connect pixels; pixels outside ``member`` (flat bool
    ``(n_pixels,)``) are ``-1``."""
    n_pixels = int(np.prod(shape))
    first = np.concatenate([e[0] for e in edges])
    second = np.concatenate([e[1] for e in edges])
    graph = sparse.coo_matrix((np.ones(len(first), bool), (first, second)), shape=(n_pixels, n_pixels))
    _, component = connected_components(graph, directed=False)
    return np.where(member, component, -1).reshape(shape)


def _drop_small(component, min_size):
    """Consecutive labels for components of at least ``min_size`` pixels, the rest filled
    from the nearest kept pixel; returns ``(labels, core)`` where ``core`` marks the pixels
    that were in a kept component from the start."""
    counts = np.bincount(component[component >= 0].ravel())
    kept = np.flatnonzero(counts >= min_size)
    new_id = np.full(len(counts), -1)
    new_id[kept] = np.arange(len(kept))
    labels = np.where(component >= 0, new_id[np.maximum(component, 0)], -1)
    core = labels >= 0
    orphans = (component >= 0) & ~core
    if orphans.any() and core.any():
        _, nearest = ndimage.distance_transform_edt(~core, return_indices=True)
        labels = np.where(orphans, labels[tuple(nearest)], labels)
    return labels, core


def mean_orientations(quaternions, labels, symmetry_quaternions) -> np.ndarray:
    """Mean orientation of each label, symmetry-aware.

    Every orientation is replaced by its symmetry equivalent nearest to a reference
    orientation of its label (the first one), sign-aligned with it, summed and normalised.

    Parameters
    ----------
    quaternions : numpy.ndarray, shape (n, 4)
    labels : numpy.ndarray of int, shape (n,)
        Values ``0 .. n_labels - 1``, every value present.
    symmetry_quaternions : numpy.ndarray, shape (n_ops, 4)

    Returns
    -------
    numpy.ndarray, shape (n_labels, 4)
    """
    if len(labels) == 0:
        return np.zeros((0, 4))
    _, first = np.unique(labels, return_index=True)
    reference = quaternions[first][labels]
    # <s q, r> = r^T L(s) q with L(s) the matrix of left multiplication: one matmul for all s.
    left = np.swapaxes(multiply(symmetry_quaternions[:, None, :], np.eye(4)[None]), 1, 2)  # (n_ops, 4, 4)
    overlap = (reference[:, :, None] * quaternions[:, None, :]).reshape(-1, 16) @ left.reshape(-1, 16).T
    best = np.argmax(np.abs(overlap), axis=1)
    sign = np.sign(overlap[np.arange(len(labels)), best])
    aligned = multiply(symmetry_quaternions[best], quaternions) * sign[:, None]
    sums = np.stack([np.bincount(labels, weights=aligned[:, c]) for c in range(4)], axis=1)
    return normalize(sums)


def equivalent_diameters(measures, ndim: int) -> np.ndarray:
    """Diameters of the circles (2D) or spheres (3D) of the given areas or volumes, same shape."""
    measures = np.asarray(measures, dtype=float)
    return 2.0 * np.sqrt(measures / np.pi) if ndim == 2 else np.cbrt(6.0 * measures / np.pi)


def chord_lengths(labels: np.ndarray, axis: int, periodic: bool) -> np.ndarray:
    """Lengths (pixels) of the runs of equal label along ``axis``, shape ``(n_chords,)``.

    Runs of negative labels (non-indexed pixels) are not chords. Periodic: a run continues across
    the face (a line held by one label gives one chord of the full length); otherwise runs
    touching either end of a line are dropped.
    """
    lines = np.moveaxis(labels, axis, -1).reshape(-1, labels.shape[axis])
    n = lines.shape[1]
    if periodic:
        ends_line, ends_col = np.nonzero(lines != np.roll(lines, -1, axis=1))  # a run ends at ends_col
        new_line = ends_line[1:] != ends_line[:-1]
        first, last = np.ones(len(ends_line), bool), np.ones(len(ends_line), bool)
        first[1:], last[:-1] = new_line, new_line
        last_end = np.zeros(len(lines), int)
        last_end[ends_line[last]] = ends_col[last]
        # Each run starts after the previous end; the first of a line wraps round from the last.
        previous = np.zeros_like(ends_col)
        previous[1:] = ends_col[:-1]
        previous_end = np.where(first, last_end[ends_line] - n, previous)
        whole = np.setdiff1d(np.arange(len(lines)), ends_line)  # lines held by one label
        lengths = np.r_[ends_col - previous_end, np.full(len(whole), n)]
        run_labels = np.r_[lines[ends_line, ends_col], lines[whole, 0]]
    else:
        padded = np.pad(lines, ((0, 0), (1, 1)), constant_values=-2)
        change_line, change_col = np.nonzero(padded[:, 1:] != padded[:, :-1])
        # Consecutive changes in one line bound one run [change_col[k], change_col[k+1]).
        same_line = change_line[1:] == change_line[:-1]
        begin, end = change_col[:-1][same_line], change_col[1:][same_line]
        run_labels = lines[change_line[:-1][same_line], begin]
        inside = (begin > 0) & (end < n)
        lengths, run_labels = (end - begin)[inside], run_labels[inside]
    return lengths[run_labels >= 0].astype(float)


def size_statistics(labels: np.ndarray, periodic: bool) -> dict:
    """The grain-size figures of a grain analysis, in pixels, of grain labels ``(H, W[, D])``
    (``0 .. n - 1``, negative outside every grain; as :func:`segment_grains` or
    :func:`label_components` give them).

    Returns
    -------
    dict
        ``density``: grains per labelled pixel; ``diameter``: their mean equivalent diameter
        (pixels); ``chords``: the mean chord per axis (pixels, :func:`chord_lengths`; NaN where
        no chord is measured). Plain floats, JSON-friendly.
    """
    sizes = np.bincount(labels[labels >= 0].ravel())
    sizes = sizes[sizes > 0]
    chords = [chord_lengths(labels, axis, periodic) for axis in range(labels.ndim)]
    return dict(density=len(sizes) / max(int(np.sum(labels >= 0)), 1),
                diameter=float(np.mean(equivalent_diameters(sizes, labels.ndim))) if len(sizes) else float("nan"),
                chords=[float(np.mean(c)) if len(c) else float("nan") for c in chords])
