"""Grain-level surrogates of a reference map: its grain structure, its grains' orientations.

A global part for the Local-Global sampler (:mod:`mcrpy_poly.diffusion.lgd`, issue 13) that has
grains by construction. The Gaussian field and the IAAFT surrogate (:mod:`mcrpy_poly.grf`)
rearrange pixels and need a grain step afterwards; on a reference of few large grains (sdss
austenite) they stay a fine mixture. Here the grains come first, as in the reconstruction's
grain-structured start (:mod:`mcrpy_poly.reconstruction.grain_start`):

1. the cells: a periodic Voronoi (or, for a broad grain-size distribution, Laguerre)
   tessellation of the output grid with the reference's share of boundary pairs per axis
   (its mean chords and elongation) and its grains per area
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

No optimisation: a sample costs one tessellation (0.3-0.7 s at 128^2). What it does not carry:
correlations between neighbouring grains' orientations (twin relations, orientation
clusters; drawing a cell's grain among the reference neighbours of its neighbours' grains
changed the sdss two-point error only from 0.54 to 0.51), and grain shapes other than convex
cells.
"""
from __future__ import annotations

import numpy as np

from .errors import InputError
from .grains import THRESHOLD, segment_grains
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
    pairs = np.concatenate([np.stack([labels.ravel(), np.roll(labels, -1, axis=a).ravel()], axis=1)
                            for a in range(labels.ndim)])
    pairs = np.unique(np.sort(pairs[pairs[:, 0] != pairs[:, 1]], axis=1), axis=0)
    both = np.concatenate([pairs, pairs[:, ::-1]])
    both = both[np.argsort(both[:, 0], kind="stable")]
    return np.split(both[:, 1], np.searchsorted(both[:, 0], np.arange(1, int(labels.max()) + 1)))


def similar_orientations(orientations, symmetry_quaternions, threshold: float = THRESHOLD,
                         block: int = 256) -> list:
    """For every orientation, the indices of those within ``threshold`` degrees of it
    (disorientation, itself included); pairs computed ``block`` rows at a time.

    Parameters
    ----------
    orientations : numpy.ndarray, shape (n, 4)
        Orix quaternions.
    symmetry_quaternions : numpy.ndarray, shape (n_ops, 4)

    Returns
    -------
    list of n numpy.ndarray of int
    """
    orientations = np.asarray(orientations, dtype=float)
    limit = np.radians(threshold)
    close = []
    for first in range(0, len(orientations), block):
        angles = misorientation_angle(orientations[first:first + block, None], orientations[None],
                                      symmetry_quaternions)
        close.extend(np.flatnonzero(row <= limit) for row in angles)
    return close


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
    grain_density : float or None
        The reference's grains per pixel (None: a Voronoi tessellation).
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

    def __init__(self, reference: OrientationMap, shape, fractions, grain_density, periodic: bool,
                 threshold: float = THRESHOLD, sections=(None,)):
        self.reference = reference
        self.shape = tuple(int(s) for s in shape)
        self.sections = list(sections)
        self.fractions = np.asarray(fractions, dtype=float)
        self.grain_density = grain_density
        self.periodic = bool(periodic)
        grains = segment_grains(reference, threshold, periodic, min_size=1)
        self.grain_labels = grains.labels.ravel()
        self.similar_grains = similar_orientations(grains.orientations, reference.symmetry.quaternions, threshold)
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
        return cls(reference, shape, boundary_fractions(targets, len(shape)), characterization.grain_density,
                   characterization.periodic, THRESHOLD, observed_sections(targets))

    def sample(self, n: int = 1, rng=None) -> np.ndarray:
        """``n`` surrogates: quaternions ``(n, *shape, 4)`` (orix convention), each on its own
        tessellation (seed drawn from ``rng``), filled by :meth:`fill`."""
        from .reconstruction.grain_start import tessellation

        rng = np.random.default_rng(rng)
        return np.stack([self.fill(tessellation(self.shape, self.fractions, int(rng.integers(2**31)),
                                                self.grain_density, self.sections, self.periodic), rng)
                         for _ in range(int(n))])

    def fill(self, labels: np.ndarray, rng=None) -> np.ndarray:
        """Orientations of the cells of ``labels`` (ids ``0 .. n - 1``, adjacency periodic), one per
        cell: that of a random pixel of the reference grain the cell draws
        (:func:`draw_with_area_quotas`; the reference's own orientations, no inversion).

        Filling the reference's own grain labels (``grain_labels``) gives its grains with their
        orientations redrawn: the reference's geometry, another realisation of its orientations.

        Returns
        -------
        numpy.ndarray, shape (*labels.shape, 4)
        """
        rng = np.random.default_rng(rng)
        by_grain = np.argsort(self.grain_labels, kind="stable")  # pixels of grain g: by_grain[first[g]:][:size]
        first = np.concatenate([[0], np.cumsum(self.grain_sizes)[:-1]])
        grain = draw_with_area_quotas(np.bincount(labels.ravel()), self.grain_sizes, rng, self.grain_values,
                                      neighbours=adjacent_cells(labels), similar=self.similar_grains)
        pixel = by_grain[first[grain] + (rng.random(len(grain)) * self.grain_sizes[grain]).astype(np.int64)]
        return self.reference.quaternions.reshape(-1, 4)[pixel][labels]
