"""Grain-structured start: a tessellation with the target's boundary density, orientations fitted per grain.

A random field has no grains, and the descriptor loss alone sets their size only loosely: on a
coarse grid it fixes a grain structure that the final grid then reshapes pixel by pixel, and the
result keeps too many or too few grains where the loss is flat (3D from one section: 40 % more
grains than the true volume). The grain-structured start instead builds the grains first:

1. the share of neighbour pairs across a boundary along each axis, ``f_i``, is read from the
   target's ``boundaries`` descriptor at spacing 1 (:func:`boundary_fractions`: the pairs whose SHSH
   distance exceeds that of a ``threshold`` misorientation). Along a line, ``1 / f_i`` is the mean
   chord, and a line in a section is a line in the volume (stereology), so one 2D section fixes
   the chords of a 3D volume;
2. a periodic Voronoi tessellation of random seeds is fitted to those fractions
   (:func:`tessellation`): its number of cells sets the mean chord, the stretch of its metric per
   axis (``aspect``) the elongation; both are refined from the fractions the tessellation itself
   measures. Of several seed patterns and size spreads (Laguerre cells: a broad or bimodal grain
   size has more and smaller grains at one chord), the candidate whose grains per area, mean
   equivalent diameter and mean chords come closest to the target's
   (:attr:`~mcrpy_poly.descriptors.Characterization.grain_sizes`, measured as the target's were) is kept;
3. each cell gets a random orientation, and the orientations are fitted to the descriptor loss
   with the grain identities fixed (:func:`mcrpy_poly.reconstruction.grain_stage.polish`).

In 2D -> 3D the loss compares :data:`SLICES_PER_AXIS` slices per axis, not all of them.
"""
from __future__ import annotations

import numpy as np

from ..descriptors.boundaries import distance_scale, thresholds
from ..grains import THRESHOLD, Grains, label_components, size_statistics
from ..orientation.quaternion import from_axis_angle, multiply, random_uniform
from ..synthetic import voronoi_labels

#: Refinements of the tessellation's seed count and aspect: for the first seed pattern of a size
#: spread, and for each further pattern (which starts from the first one's values).
REFINEMENTS = 8
PATTERN_REFINEMENTS = 3
#: Size spreads of the Laguerre tessellation tried in turn (:func:`tessellation`).
SIZE_SPREADS = tuple(np.arange(0.0, 2.01, 0.25))
#: Seed patterns tried per size spread: as many as hold about this many voxels in all (2D 64^2: 32;
#: 128^2: 8), at least :data:`MIN_PATTERNS` (3D).
PATTERN_VOXELS = 2 ** 17
MIN_PATTERNS = 2
#: Sections per observing axis in which a 3D tessellation's grains are measured.
SLICES_MEASURED = 8
#: Slices per axis in the loss of a 2D -> 3D grain-structured reconstruction
#: (:class:`~mcrpy_poly.reconstruction.loss.DescriptorLoss` ``slices_per_axis``): the state is one
#: orientation per grain and every grain spans several slices, so a quarter of the slices of a 64^3
#: volume constrain every grain, at a quarter of the cost per evaluation.
SLICES_PER_AXIS = 16


def threshold_distance(basis, degrees: float = THRESHOLD) -> float:
    """SHSH distance ``||f(q) - f(q r)||`` of a misorientation of ``degrees``: the median over 2000
    random orientations ``q`` and random axes of ``r`` (fixed seed). For complete degree sets the
    distance depends on the angle alone (cubic ``N = 8``: 0.15 at 5 degrees); the median covers
    bases where it also depends a little on the axis."""
    rng = np.random.default_rng(0)
    q = random_uniform((2000,), rng)
    r = from_axis_angle(rng.standard_normal((2000, 3)), np.full(2000, np.radians(degrees)))
    return float(np.median(np.linalg.norm(basis(q) - basis(multiply(q, r)), axis=-1)))


def boundary_fractions(targets, ndim: int, threshold: float = THRESHOLD) -> np.ndarray | None:
    """Share of the neighbour pairs along each axis of the output that cross a boundary.

    Parameters
    ----------
    targets : list of (int or None, Characterization)
        As :func:`~mcrpy_poly.reconstruction.engine.axis_targets` returns them: ``axis=None`` for a
        target of the output's own dimension, else a 2D section normal to ``axis`` (its two axes
        are the other two axes of the volume, in order).
    ndim : int
        Dimension of the output.
    threshold : float
        Grain-boundary misorientation, degrees.

    Returns
    -------
    numpy.ndarray, shape (ndim,), or None
        Mean over the targets that see each axis; ``None`` when a target has no ``boundaries``
        descriptor.
    """
    seen = [[] for _ in range(ndim)]
    for axis, characterization in targets:
        if "boundaries" not in characterization.descriptors:
            return None
        distribution = np.asarray(characterization.descriptors["boundaries"])[0]  # spacing 1: (directions, bins)
        edges, widths = thresholds(distance_scale(characterization.basis), distribution.shape[-1])
        distance = threshold_distance(characterization.basis, threshold)
        volume_axes = range(ndim) if axis is None else [a for a in range(ndim) if a != axis]
        for row, volume_axis in enumerate(volume_axes):
            # S_b / dt_b = P(d > e_b), interpolated linearly between bin edges.
            seen[volume_axis].append(float(np.interp(distance, edges, distribution[row] / widths)))
    return np.array([np.mean(values) if values else np.nan for values in seen])


def label_fractions(labels: np.ndarray) -> np.ndarray:
    """Share of the periodic neighbour pairs with different labels along each axis, ``(ndim,)``."""
    return np.array([np.mean(labels != np.roll(labels, -1, axis=a)) for a in range(labels.ndim)])


def _fitted(shape, target, size_spread, n_seeds, aspect, seed, refinements: int = REFINEMENTS):
    """Refine the seed count and aspect of one size spread and seed pattern to the boundary fractions
    ``target (ndim,)``.

    Returns ``(labels, n_seeds, aspect)`` of the refinement closest to ``target`` (largest relative
    deviation over the axes; with few cells the integer seed count makes it oscillate)."""
    ndim, n_voxels = len(shape), np.prod(shape)
    best, best_error = None, np.inf
    for _ in range(refinements):
        labels = voronoi_labels(shape, int(round(n_seeds)), aspect, np.random.default_rng(seed), size_spread)
        measured = label_fractions(labels)
        error = np.max(np.abs(measured / target - 1))
        if error < best_error:
            best, best_error = (labels, n_seeds, aspect), error
        if measured.min() <= 0:  # one cell: more seeds
            n_seeds = min(2 * n_seeds + 1, n_voxels)
            continue
        n_seeds = float(np.clip(n_seeds * (target.mean() / measured.mean()) ** ndim, 1, n_voxels))
        aspect = aspect * measured / target
        aspect = aspect / np.prod(aspect) ** (1 / ndim)
    return best


def measured_sizes(labels: np.ndarray, periodic: bool, sections=(None,), slices: int = SLICES_MEASURED) -> list:
    """Grain sizes of a tessellation, measured as a map's are (:func:`~mcrpy_poly.grains.size_statistics`
    of its :func:`~mcrpy_poly.grains.label_components`: grains of at least ``MIN_SIZE`` voxels;
    non-periodic: a cell cut by the box is two grains, chords touching the box are left out).

    Parameters
    ----------
    labels : numpy.ndarray of int, shape (H, W[, D])
    periodic : bool
    sections : sequence of (int or None)
        Where each observation is made (:func:`observed_sections`): ``None``, the whole field; an
        axis, the mean over ``slices`` evenly spaced 2D sections normal to it (the middle one first).
    slices : int

    Returns
    -------
    list of dict
        One per entry of ``sections``: ``density``, ``diameter`` and (for the whole field)
        ``chords`` as :attr:`~mcrpy_poly.descriptors.Characterization.grain_sizes` holds them. A
        section's chords are left out: they are fitted through the boundary fractions already, and
        one section's chords scatter more than its grain count and diameter do (a 32^2 section of
        30 grains: 4.6 and 5.7 px where the volume's are 5.3 and 5.6).
    """
    measured = []
    for axis in sections:
        if axis is None:
            measured.append(size_statistics(label_components(labels, periodic), periodic))
            continue
        size = labels.shape[axis]
        views = [np.take(labels, (size // 2 + k * size // slices) % size, axis=axis) for k in range(slices)]
        figures = [size_statistics(label_components(view, periodic), periodic) for view in views]
        measured.append({key: float(np.mean([f[key] for f in figures])) for key in ("density", "diameter")})
    return measured


def size_misfit(measured: list, targets: list) -> float:
    """Largest ``|log(measured / target)|`` over the grain-size figures both hold (density,
    diameter, each axis's chord where ``measured`` has chords) and over the observations (lists of
    dicts as :func:`measured_sizes` gives them)."""
    worst = 0.0
    for found, wanted in zip(measured, targets):
        pairs = [(found[key], wanted[key]) for key in ("density", "diameter") if key in wanted]
        pairs += list(zip(found.get("chords", []), wanted.get("chords", [])))
        for value, target in pairs:
            if np.isfinite(value) and np.isfinite(target) and value > 0 and target > 0:
                worst = max(worst, abs(float(np.log(value / target))))
    return worst


def finer(measured: list, targets: list) -> bool:
    """Whether every observation has more grains than its target and, where the target holds one,
    a smaller mean diameter: a broader size spread would only take them further."""
    return all(found["density"] > wanted["density"] and found["diameter"] < wanted.get("diameter", np.inf)
               for found, wanted in zip(measured, targets))


def sampling_tolerance(grain_sizes: list, shape, sections) -> float:
    """How far a candidate's grain sizes may lie from its targets' before a size spread is tried.

    A target of the output's own dimension is the map the result is judged against: 0. A 2D
    section of the output is one sample of its sections, whose grain count and mean diameter
    scatter by about ``1 / sqrt(n)`` for ``n`` grains in it (the smallest over the sections): a
    spread fitted within that scatter fits the section's noise, and moves the volume's diameter
    far more than the section's (a DAMASK Voronoi volume from a section of 22 grains: section
    diameter 4 % -> 2 % off, volume diameter -4 % -> -13 %)."""
    noise = [1 / np.sqrt(max(wanted["density"] * np.prod([n for a, n in enumerate(shape) if a != axis]), 1))
             for axis, wanted in zip(sections, grain_sizes) if axis is not None]
    return float(min(noise, default=0.0))


def tessellation(shape, fractions, seed: int = 0, grain_sizes=None, sections=(None,),
                 periodic: bool = True) -> np.ndarray:
    """Periodic Laguerre labels ``(*shape)`` with the boundary fractions and grain sizes of a target.

    The boundary fractions fix the seed count (their mean: the mean chord) and the aspect (their
    ratios: the elongation) of a tessellation of random seeds (:func:`_fitted`). Its grains also
    have a count per area and a mean equivalent diameter, and these differ between seed patterns
    of one chord (a 64^2 map of 30 grains: +-10 % in diameter) and with the width of the size
    distribution: at one mean chord a broader distribution has more and smaller grains (the small
    grains set the chord). Given the target's grain sizes, candidates are drawn for each size spread
    of :data:`SIZE_SPREADS` in turn (0: Voronoi; then Laguerre cells,
    :func:`~mcrpy_poly.synthetic.voronoi_labels`), several seed patterns each (as many as
    :data:`PATTERN_VOXELS` allow, at least :data:`MIN_PATTERNS`), each refined to the fractions, and
    measured as the target was (:func:`measured_sizes`); the candidate whose grains per area, mean
    diameter and mean chords all lie closest to the target's (:func:`size_misfit`) is kept. The
    spreads stop growing once every pattern has more and smaller grains than the target, or once
    the best candidate lies within the sampling scatter of a section target
    (:func:`sampling_tolerance`). Without
    grain sizes, the Voronoi tessellation of the first pattern. The start values are those of
    Poisson-Voronoi tessellations (2D: ``f = 4 sqrt(n / A) / pi``; 3D: ``f = 1.455 (n / V)^(1/3)``).

    Parameters
    ----------
    shape : tuple of int
    fractions : array_like, shape (ndim,)
        Target share of neighbour pairs across a boundary along each axis (``1 / mean chord``).
    seed : int
        The first pattern's seeds come from ``numpy.random.default_rng(seed)``, pattern ``k``'s from
        ``default_rng([seed, k])``.
    grain_sizes : list of dict, optional
        The targets' :attr:`~mcrpy_poly.descriptors.Characterization.grain_sizes`, one per entry of
        ``sections`` (:func:`target_grain_sizes`).
    sections : sequence of (int or None)
        How the targets observed the output, one entry per independent map: ``None`` for a map of
        the output's own dimension, else the axis normal to a 2D section (:func:`observed_sections`).
    periodic : bool
        Whether the targets' grains were measured across their edges.

    Returns
    -------
    numpy.ndarray of int, shape ``shape``
        Cell ids ``0 .. n - 1`` (every id used).
    """
    shape = tuple(int(s) for s in shape)
    ndim = len(shape)
    target = np.clip(np.asarray(fractions, dtype=float), 0.5 / max(shape), 1.0)
    density = (np.pi * target.mean() / 4) ** 2 if ndim == 2 else (target.mean() / 1.455) ** 3
    fit = _fitted(shape, target, 0.0, float(np.clip(density * np.prod(shape), 1, np.prod(shape))), np.ones(ndim),
                  seed)
    best = fit[0]
    if grain_sizes is not None:
        patterns = max(MIN_PATTERNS, min(PATTERN_VOXELS // int(np.prod(shape)), 32))
        tolerance = sampling_tolerance(grain_sizes, shape, sections)
        best_misfit = np.inf
        for size_spread in SIZE_SPREADS:
            all_finer = True
            for pattern in range(patterns):
                if pattern == 0 and size_spread > 0:
                    fit = _fitted(shape, target, size_spread, *fit[1:], seed)
                labels = fit[0] if pattern == 0 else _fitted(shape, target, size_spread, *fit[1:],
                                                              [seed, pattern], PATTERN_REFINEMENTS)[0]
                measured = measured_sizes(labels, periodic, sections)
                misfit = size_misfit(measured, grain_sizes)
                if misfit < best_misfit:
                    best, best_misfit = labels, misfit
                all_finer &= finer(measured, grain_sizes)
            if all_finer or best_misfit <= tolerance:
                break
    return np.unique(best, return_inverse=True)[1].reshape(shape)


def distinct_targets(targets) -> list:
    """The distinct characterizations of ``targets`` (by identity), each with the axis of its first
    use: a section given for all three axes is one observation, ``[(axis, characterization), ...]``."""
    first = {}
    for axis, characterization in targets:
        first.setdefault(id(characterization), (axis, characterization))
    return list(first.values())


def observed_sections(targets) -> list:
    """How the targets observe the output (:func:`tessellation` ``sections``), one entry per
    distinct target (:func:`distinct_targets`): its axis, ``None`` for a target of the output's own
    dimension."""
    return [axis for axis, _ in distinct_targets(targets)]


def target_grain_sizes(targets) -> list | None:
    """Grain sizes of the distinct targets (:func:`distinct_targets`), in :func:`observed_sections`
    order; ``None`` when one lacks them."""
    values = [characterization.grain_sizes for _, characterization in distinct_targets(targets)]
    return None if None in values else values


def start_grains(labels: np.ndarray, symmetry, seed: int = 0) -> Grains:
    """:class:`~mcrpy_poly.grains.Grains` of ``labels`` with uniformly random orientations ``(n, 4)``."""
    n = int(labels.max()) + 1
    return Grains(labels=labels, orientations=random_uniform((n,), np.random.default_rng(seed)),
                  symmetry=symmetry, step=(1.0,) * labels.ndim, periodic=True, threshold=THRESHOLD, min_size=1)
