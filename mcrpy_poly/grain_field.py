"""Grain-level surrogates of a reference map: its grain structure, its grains' orientations.

A global part for the Local-Global sampler (:mod:`mcrpy_poly.diffusion.lgd`, issue 13) that has
grains by construction. The Gaussian field and the IAAFT surrogate (:mod:`mcrpy_poly.grf`)
rearrange pixels and need a grain step afterwards; on a reference of few large grains (sdss
austenite) they stay a fine mixture. Here the grains come first, as in the reconstruction's
grain-structured start (:mod:`mcrpy_poly.reconstruction.grain_start`):

1. the cells: a periodic Voronoi or Laguerre tessellation of the output grid with the
   reference's share of boundary pairs per axis (its mean chords and elongation), its grains
   per area and their mean diameter
   (:func:`~mcrpy_poly.reconstruction.grain_start.tessellation`);
2. the orientations: the reference is segmented into grains (5 degrees); every cell takes the
   orientation of one pixel of a reference grain, the grains drawn with *area quotas*
   (:func:`draw_with_area_quotas`): each reference grain owns its share of the output's area
   and is drawn in proportion to what it has left, each cell choosing among a few such draws
   the one that keeps the texture (SHSH means) on track, so the texture follows the
   reference's closely (sdss austenite, 89 grains, 8 samples: ensemble texture error 0.20
   with a random pixel per cell, 0.23 with area quotas alone, 0.013 with the choice); no cell
   takes the grain of an adjacent cell, nor a grain whose orientation lies within the
   segmentation threshold of it (they would merge: on the README's cube-textured example, 8
   samples, 18 % too few grains before, 1 % after).

No optimisation: a sample costs the choice of one tessellation (0.4-5 s at 128^2, one thread:
several seed patterns and size spreads, :func:`~mcrpy_poly.reconstruction.grain_start.tessellation`).
What it does not carry:
correlations between neighbouring grains' orientations (twin relations, orientation
clusters; drawing a cell's grain among the reference neighbours of its neighbours' grains
changed the sdss two-point error only from 0.54 to 0.51), and grain shapes other than convex
cells.
"""
from __future__ import annotations

import numpy as np

from .errors import InputError
from .grains import THRESHOLD, cell_boundaries, segment_grains
from .orientation.orientation_map import OrientationMap
from .orientation.quaternion import misorientation_angle
from .orientation.shsh import SHSHBasis


def draw_with_area_quotas(cell_sizes, grain_sizes, rng=None, grain_values=None, candidates: int = 8,
                          neighbours=None, similar=None) -> np.ndarray:
    """Reference grain of every cell, each grain drawn in proportion to the area it has left.

    Grain ``g`` owns ``grain_sizes[g] * total_cells / total_grains`` of the output's area. Cells
    are taken largest first (ties in random order); each draws a grain with probability
    proportional to its remaining area (negative remainders count 0; when all are spent, in
    proportion to the grain sizes) and spends that grain's area by its own size. With
    ``grain_values``, each cell draws ``candidates`` grains so and keeps the one that brings the
    area-weighted mean of the values assigned so far closest to the reference's (the texture
    kept on track cell by cell, not only in expectation). With ``neighbours``, a cell does not draw
    a grain that an adjacent cell already has (two such cells would be one grain), nor with
    ``similar`` one whose orientation is that close to an adjacent cell's grain, unless every grain
    with area left is so excluded.

    Parameters
    ----------
    cell_sizes : array_like of int, shape (n_cells,)
        Pixels per output cell.
    grain_sizes : array_like of int, shape (n_grains,)
        Pixels per reference grain.
    rng : numpy.random.Generator or int, optional
    grain_values : array_like, shape (n_grains, K), optional
        A value per reference grain (its mean SHSH vector).
    candidates : int
    neighbours : sequence of array_like of int, optional
        The cells adjacent to each cell.
    similar : sequence of array_like of int, optional
        For every grain, the grains that would be one grain with it as neighbours, itself
        included (default: itself alone).

    Returns
    -------
    numpy.ndarray of int, shape (n_cells,)
        Index of the reference grain of every cell.
    """
    rng = np.random.default_rng(rng)
    cell_sizes = np.asarray(cell_sizes, dtype=float)
    grain_sizes = np.asarray(grain_sizes, dtype=float)
    left = grain_sizes * cell_sizes.sum() / grain_sizes.sum()
    if grain_values is not None:
        grain_values = np.asarray(grain_values, dtype=float)
        target = grain_sizes @ grain_values / grain_sizes.sum()
        total, area = np.zeros_like(target), 0.0
    chosen = np.full(len(cell_sizes), -1, dtype=np.int64)
    for cell in np.lexsort((rng.random(len(cell_sizes)), -cell_sizes)):
        weights = np.clip(left, 0.0, None)
        weights = weights if weights.sum() > 0 else grain_sizes
        if neighbours is not None:
            taken = chosen[np.asarray(neighbours[cell], dtype=np.int64)]
            taken = taken[taken >= 0]
            free = weights.copy()
            if similar is not None and len(taken):
                taken = np.concatenate([similar[grain] for grain in taken])
            free[taken] = 0.0
            weights = free if free.sum() > 0 else weights
        if grain_values is None:
            chosen[cell] = rng.choice(len(weights), p=weights / weights.sum())
        else:
            drawn = rng.choice(len(weights), size=candidates, p=weights / weights.sum())
            area += cell_sizes[cell]
            misfit = np.linalg.norm(total + cell_sizes[cell] * grain_values[drawn] - area * target, axis=1)
            chosen[cell] = drawn[np.argmin(misfit)]
            total += cell_sizes[cell] * grain_values[chosen[cell]]
        left[chosen[cell]] -= cell_sizes[cell]
    return chosen


def adjacent_cells(labels: np.ndarray) -> list:
    """The cells that share a face with each cell of a periodic label field ``(*shape)`` with ids
    ``0 .. n - 1``: a list of ``n`` integer arrays."""
    return incident(cell_boundaries(labels)[0], int(labels.max()) + 1, other_end=True)


def incident(pairs: np.ndarray, n: int, other_end: bool = False) -> list:
    """For each of ``n`` cells, the indices of the ``pairs`` ``(m, 2)`` it belongs to (or, with
    ``other_end``, the cells at their other ends): a list of ``n`` integer arrays."""
    ends = np.concatenate([pairs, pairs[:, ::-1]])
    index = np.concatenate([np.arange(len(pairs))] * 2)
    order = np.argsort(ends[:, 0], kind="stable")
    values = ends[order, 1] if other_end else index[order]
    return np.split(values, np.searchsorted(ends[order, 0], np.arange(1, n)))


def disorientation_matrix(orientations, symmetry_quaternions, block: int = 256) -> np.ndarray:
    """Disorientation angles (degrees) between all pairs of orientations, ``block`` rows at a time.

    Parameters
    ----------
    orientations : numpy.ndarray, shape (n, 4)
        Orix quaternions.
    symmetry_quaternions : numpy.ndarray, shape (n_ops, 4)

    Returns
    -------
    numpy.ndarray of float32, shape (n, n)
    """
    orientations = np.asarray(orientations, dtype=float)
    return np.concatenate([np.degrees(misorientation_angle(orientations[first:first + block, None], orientations[None],
                                                           symmetry_quaternions)).astype(np.float32)
                           for first in range(0, len(orientations), block)])


def match_boundary_misorientations(grain, pairs, lengths, angles, target, rng=None, threshold: float = THRESHOLD,
                                   sizes=None, moves_per_cell: int = 20, nearby: int = 8, values=None,
                                   texture_weight: float = 20.0) -> np.ndarray:
    """Swap the grains of cells so that the misorientations across the cell boundaries follow a
    target distribution (as DREAM.3D matches a misorientation distribution by swaps).

    The distribution is that of ``angles[grain[a], grain[b]]`` over the boundary pairs ``(a, b)``,
    weighted by their ``lengths``, in 1-degree bins; the misfit is its Wasserstein-1 distance from
    ``target`` (degrees). Each move swaps the grains of a random cell and one of the ``nearby``
    cells on either side of it in the order of size (so the area each grain covers, the texture,
    changes little), and is kept if it lowers the misfit and puts no two grains within
    ``threshold`` of each other side by side (they would be one grain). Greedy; ``moves_per_cell``
    moves per cell. With ``values``, the misfit adds ``texture_weight`` times the relative change of
    the area-weighted mean value (the texture as drawn is kept).

    On the sdss austenite (8 samples of 128^2): W1 of the boundary misorientations 5.4 -> 1.6
    degrees, twin (57-61 degree) boundaries 6 % -> 16 % of the boundary length (the map: 37 %, many
    of them thin lamellae a convex cell cannot be), two-point error 0.53 -> 0.62 (see
    ``benchmarks/RESULTS.md``).

    Parameters
    ----------
    grain : numpy.ndarray of int, shape (n_cells,)
        Grain of every cell (not changed).
    pairs : numpy.ndarray of int, shape (m, 2)
    lengths : numpy.ndarray, shape (m,)
        Adjacent cells and their boundary lengths (:func:`~mcrpy_poly.grains.cell_boundaries`).
    angles : numpy.ndarray, shape (n_grains, n_grains)
        Disorientations between the grains (degrees; :func:`disorientation_matrix`).
    target : numpy.ndarray, shape (n_bins,)
        Target distribution in 1-degree bins from 0, summing to 1 (``n_bins > angles.max()``).
    rng : numpy.random.Generator or int, optional
    threshold : float
        Degrees; no two adjacent cells get grains this close.
    sizes : numpy.ndarray, shape (n_cells,), optional
        Cell sizes (default: all equal).
    moves_per_cell, nearby : int
    values : numpy.ndarray, shape (n_grains, K), optional
        A value per grain (its mean SHSH vector).
    texture_weight : float

    Returns
    -------
    numpy.ndarray of int, shape (n_cells,)
    """
    rng = np.random.default_rng(rng)
    grain = np.array(grain, dtype=np.int64)
    n_cells, n_bins = len(grain), len(target)
    if len(pairs) == 0 or n_cells < 2:
        return grain
    weights = np.asarray(lengths, dtype=float) / np.sum(lengths)
    a, b = pairs[:, 0], pairs[:, 1]
    histogram = np.bincount(angles[grain[a], grain[b]].astype(np.int64), weights, minlength=n_bins)
    target_cdf = np.cumsum(target)
    misfit = np.abs(np.cumsum(histogram) - target_cdf).sum()
    touching = incident(pairs, n_cells)
    sizes = np.ones(n_cells) if sizes is None else np.asarray(sizes, dtype=float)
    if values is not None:  # the texture as drawn is kept: its drift from it is added to the misfit
        values = np.asarray(values, dtype=float)
        target_mean = sizes @ values[grain] / sizes.sum()
        scale = texture_weight / max(np.linalg.norm(target_mean), 1e-12) / sizes.sum()
        drift = np.zeros_like(target_mean)  # area-weighted sum of the values less that of the draw
    order = np.argsort(sizes, kind="stable")
    rank = np.argsort(order)
    for _ in range(moves_per_cell * n_cells):
        i = int(rng.integers(n_cells))
        j = int(order[np.clip(rank[i] + rng.integers(-nearby, nearby + 1), 0, n_cells - 1)])
        if grain[i] == grain[j]:
            continue
        edges = np.union1d(touching[i], touching[j])
        ends = np.stack([a[edges], b[edges]])
        before = grain[ends]
        after = np.where(ends == i, grain[j], np.where(ends == j, grain[i], before))
        new = angles[after[0], after[1]]
        if new.min() <= threshold:
            continue
        change = (np.bincount(new.astype(np.int64), weights[edges], minlength=n_bins)
                  - np.bincount(angles[before[0], before[1]].astype(np.int64), weights[edges], minlength=n_bins))
        trial = np.abs(np.cumsum(histogram + change) - target_cdf).sum()
        if values is not None:
            shift = (sizes[i] - sizes[j]) * (values[grain[j]] - values[grain[i]])
            trial += scale * np.linalg.norm(drift + shift)
        if trial < misfit:
            grain[[i, j]] = grain[[j, i]]
            histogram, misfit = histogram + change, trial
            if values is not None:
                drift = drift + shift
    return grain


#: Bins (1 degree from 0) of the boundary misorientation distributions: above every disorientation.
BINS = 181


class TessellationField:
    """Generator of grain-level surrogates of one reference map on an output grid.

    Parameters
    ----------
    reference : OrientationMap
        Every pixel indexed (fill non-indexed pixels first).
    shape : tuple of int
        Output grid: of the reference's dimension, or 3D from a 2D map.
    fractions : array_like, shape (ndim,)
        The reference's share of face-neighbour pairs across a boundary per axis.
    grain_statistics : dict or None
        The reference's grain-size figures (:attr:`~mcrpy_poly.descriptors.Characterization.grain_sizes`;
        None: a Voronoi tessellation).
    periodic : bool
        Whether the reference's grains were counted across its edges.
    threshold : float
        Grain-boundary misorientation (degrees) of the reference's segmentation.
    sections : sequence of (int or None)
        How the reference observes the output (:func:`~mcrpy_poly.reconstruction.grain_start.observed_sections`):
        ``[None]`` for a map of the output's dimension, ``[0]`` for a 2D section of a 3D output.

    Attributes
    ----------
    grain_labels : numpy.ndarray of int, shape (n_pixels,)
        The reference's grain of every pixel (flat; every pixel in a grain, none dissolved).
    grain_sizes : numpy.ndarray of int, shape (n_grains,)
        Pixels per reference grain.
    grain_values : numpy.ndarray, shape (n_grains, K)
        Mean SHSH vector of every reference grain.
    similar_grains : list of numpy.ndarray of int
        For every reference grain, the grains whose mean orientations lie within ``threshold`` of
        its own (itself included): two cells with such grains would be one grain, so adjacent
        cells never take them (a textured map has many: 6 % of the grain pairs of the README's
        cube-textured example, 0.3 % of the MCRpy map's).
    """

    def __init__(self, reference: OrientationMap, shape, fractions, grain_statistics, periodic: bool,
                 threshold: float = THRESHOLD, sections=(None,), match_boundaries: bool = True):
        self.reference = reference
        self.match_boundaries = bool(match_boundaries)
        self.shape = tuple(int(s) for s in shape)
        self.sections = list(sections)
        self.fractions = np.asarray(fractions, dtype=float)
        self.grain_statistics = grain_statistics
        self.periodic = bool(periodic)
        self.threshold = float(threshold)
        grains = segment_grains(reference, threshold, periodic, min_size=1)
        self.grain_labels = grains.labels.ravel()
        self.grain_angles = disorientation_matrix(grains.orientations, reference.symmetry.quaternions)
        pairs, lengths = cell_boundaries(grains.labels, periodic)
        self.similar_grains = [np.flatnonzero(row <= threshold) for row in self.grain_angles]
        self.boundary_distribution = np.bincount(self.grain_angles[pairs[:, 0], pairs[:, 1]].astype(np.int64),
                                                 lengths, minlength=BINS) / max(lengths.sum(), 1)
        self.grain_sizes = np.bincount(self.grain_labels)
        values = SHSHBasis(reference.symmetry)(reference.quaternions).reshape(self.grain_labels.size, -1)
        sums = np.stack([np.bincount(self.grain_labels, weights=v) for v in values.T], axis=1)
        self.grain_values = sums / self.grain_sizes[:, None]  # mean SHSH vector per grain

    @classmethod
    def from_map(cls, reference: OrientationMap, shape=None) -> TessellationField:
        """The generator of ``reference`` (statistics non-periodic unless the map is periodic) on
        ``shape`` (default the reference's). A 2D map gives 3D volumes as the reconstruction's
        2D -> 3D grain start does: the map is taken as a section normal to every axis (its chords
        are those of lines in the volume; its grains per area those of the volume's sections)."""
        from .descriptors import characterize
        from .reconstruction.grain_start import boundary_fractions, observed_sections

        shape = reference.shape if shape is None else tuple(shape)
        if len(shape) != reference.ndim and (reference.ndim, len(shape)) != (2, 3):
            raise InputError(f"a {reference.ndim}D map cannot give a {len(shape)}D shape {shape}")
        characterization = characterize(reference, ("boundaries",))
        axes = [None] if len(shape) == reference.ndim else [0, 1, 2]
        targets = [(axis, characterization) for axis in axes]
        return cls(reference, shape, boundary_fractions(targets, len(shape)), characterization.grain_sizes,
                   characterization.periodic, THRESHOLD, observed_sections(targets))

    def sample(self, n: int = 1, rng=None) -> np.ndarray:
        """``n`` surrogates: quaternions ``(n, *shape, 4)`` (orix convention), each on its own
        tessellation (seed drawn from ``rng``), filled by :meth:`fill`."""
        from .reconstruction.grain_start import tessellation

        rng = np.random.default_rng(rng)
        sizes = None if self.grain_statistics is None else [self.grain_statistics] * len(self.sections)
        return np.stack([self.fill(tessellation(self.shape, self.fractions, int(rng.integers(2**31)), sizes,
                                                self.sections, self.periodic), rng)
                         for _ in range(int(n))])

    def fill(self, labels: np.ndarray, rng=None) -> np.ndarray:
        """Orientations of the cells of ``labels`` (ids ``0 .. n - 1``, adjacency periodic) on the
        grid: :meth:`cell_orientations` spread over the cells.

        Filling the reference's own grain labels gives :meth:`redrawn`.

        Returns
        -------
        numpy.ndarray, shape (*labels.shape, 4)
        """
        return self.cell_orientations(labels, rng)[labels]

    def redrawn(self, rng=None) -> np.ndarray:
        """The reference's own grains with their orientations redrawn (:meth:`fill` on
        ``grain_labels``): its geometry, another realisation of its orientations; quaternions
        ``(*reference.shape, 4)``. What a sampler that does not copy the reference reaches at best."""
        return self.fill(self.grain_labels.reshape(self.reference.shape), rng)

    def cell_orientations(self, labels: np.ndarray, rng=None) -> np.ndarray:
        """One orientation per cell of ``labels`` (ids ``0 .. n - 1``, adjacency periodic): that of
        a random pixel of the reference grain the cell draws (:func:`draw_with_area_quotas`, then,
        with ``match_boundaries``, :func:`match_boundary_misorientations`; the reference's own
        orientations, no inversion).

        Returns
        -------
        numpy.ndarray, shape (n, 4)
        """
        rng = np.random.default_rng(rng)
        by_grain = np.argsort(self.grain_labels, kind="stable")  # pixels of grain g: by_grain[first[g]:][:size]
        first = np.concatenate([[0], np.cumsum(self.grain_sizes)[:-1]])
        sizes = np.bincount(labels.ravel())
        pairs, lengths = cell_boundaries(labels)
        grain = draw_with_area_quotas(sizes, self.grain_sizes, rng, self.grain_values,
                                      neighbours=incident(pairs, len(sizes), other_end=True),
                                      similar=self.similar_grains)
        if self.match_boundaries:
            grain = match_boundary_misorientations(grain, pairs, lengths, self.grain_angles,
                                                   self.boundary_distribution, rng, self.threshold, sizes,
                                                   values=self.grain_values)
        pixel = by_grain[first[grain] + (rng.random(len(grain)) * self.grain_sizes[grain]).astype(np.int64)]
        return self.reference.quaternions.reshape(-1, 4)[pixel]
