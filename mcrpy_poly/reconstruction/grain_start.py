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
   measures. Where the target has significantly more grains per area than that (a broad or
   bimodal grain size: the small grains set the chord), the tessellation becomes a Laguerre one
   whose size spread brings the count up to the target's
   (:attr:`~mcrpy_poly.descriptors.Characterization.grain_density`);
3. each cell gets a random orientation, and the orientations are fitted to the descriptor loss
   with the grain identities fixed (:func:`mcrpy_poly.reconstruction.grain_stage.polish`).

In 2D -> 3D the loss compares :data:`SLICES_PER_AXIS` slices per axis, not all of them.
"""
from __future__ import annotations

import numpy as np

from ..descriptors.boundaries import distance_scale, thresholds
from ..grains import THRESHOLD, Grains, label_components
from ..orientation.quaternion import from_axis_angle, multiply, random_uniform
from ..synthetic import voronoi_labels

#: Refinements of the tessellation's seed count and aspect (per size spread).
REFINEMENTS = 8
#: Size spreads of the Laguerre tessellation tried in turn (:func:`tessellation`).
SIZE_SPREADS = tuple(np.arange(0.0, 2.01, 0.25))
#: Voronoi seed patterns that measure the scatter of a counted grain density, and how many of its
#: standard deviations a target must lie above their mean to get a size spread (:func:`tessellation`).
NOISE_SAMPLES = 8
SIGNIFICANCE = 3.0
#: Least relative excess of the target's grain density over Voronoi's that gets a size spread: a few
#: per cent more grains are not worth the larger grain fit (MCRpy map: +3 %, 802 cells against 700,
#: 9 s more for 719 against 711 grains of 735).
MIN_EXCESS = 0.05
#: Sections per observing axis that count a 3D tessellation's grains while its spread is fitted.
SLICES_COUNTED = 8
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


def _fitted(shape, target, size_spread, n_seeds, aspect, seed):
    """Refine the seed count and aspect of one size spread to the boundary fractions ``target (ndim,)``.

    Returns ``(labels, n_seeds, aspect)`` of the refinement closest to ``target`` (largest relative
    deviation over the axes; with few cells the integer seed count makes it oscillate)."""
    ndim, n_voxels = len(shape), np.prod(shape)
    best, best_error = None, np.inf
    for _ in range(REFINEMENTS):
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


def counted_density(labels: np.ndarray, periodic: bool, sections=(None,), slices: int = 1,
                    fraction: float | None = None) -> float:
    """Grains per voxel of a label field, counted as :func:`~mcrpy_poly.grains.segment_grains` counts
    a map's grains (:func:`~mcrpy_poly.grains.label_components`: at least ``MIN_SIZE`` voxels;
    non-periodic: a cell cut by the box is two grains).

    ``sections``: where the count is made (``None``: the whole field; an axis: ``slices`` evenly
    spaced 2D sections normal to it, starting with the middle one); the mean over all. With
    ``fraction``, each count is scaled to that mean boundary fraction, as grains per area scale with
    the square (per volume: the cube) of the boundary fraction at one shape of grains."""
    densities = []
    for axis in sections:
        if axis is None:
            views = [labels]
        else:
            size = labels.shape[axis]
            views = [np.take(labels, (size // 2 + k * size // slices) % size, axis=axis) for k in range(slices)]
        for view in views:
            density = (int(label_components(view, periodic).max()) + 1) / view.size
            if fraction is not None:
                density *= (fraction / label_fractions(view).mean()) ** view.ndim
            densities.append(density)
    return float(np.mean(densities))


def voronoi_density(shape, n_seeds: int, aspect, seed, periodic: bool, sections, fraction: float) -> float:
    """:func:`counted_density` (one section per axis, scaled to ``fraction``) of the Voronoi tessellation
    ``voronoi_labels(shape, n_seeds, aspect, numpy.random.default_rng(seed))``, computed only where it is
    counted: a section alone where the target observed the output in a section.

    Parameters
    ----------
    shape : tuple of int
    n_seeds : int
    aspect : numpy.ndarray, shape (ndim,)
    seed : int or sequence of int
    periodic : bool
    sections : sequence of (int or None)
        As :func:`counted_density` takes them.
    fraction : float
        Mean boundary fraction the counts are scaled to.

    Returns
    -------
    float
        Grains per pixel (per voxel for a ``None`` section of a volume).
    """
    densities = []
    for axis in sections:
        section = None if axis is None else (axis, shape[axis] // 2)
        labels = voronoi_labels(shape, n_seeds, aspect, np.random.default_rng(seed), section=section)
        densities.append(counted_density(labels, periodic, fraction=fraction))
    return float(np.mean(densities))


def tessellation(shape, fractions, seed: int = 0, grain_density: float | None = None, sections=(None,),
                 periodic: bool = True) -> np.ndarray:
    """Periodic Laguerre labels ``(*shape)`` with the boundary fractions and grain density of a target.

    The boundary fractions fix the seed count (their mean: the mean chord) and the aspect (their
    ratios: the elongation) of a Voronoi tessellation. At one mean chord, a broader grain-size
    distribution has more grains (the small grains set the chord), so a target with more grains per
    area than Voronoi tessellations of that chord gets a Laguerre tessellation
    (:func:`~mcrpy_poly.synthetic.voronoi_labels`) whose size spread brings the count up to the
    target's: the spreads :data:`SIZE_SPREADS` are tried in turn (seed count and aspect refined
    again for each) until the counted density reaches the target's, and the closer of the last two
    is kept. A count is a noisy observation (one 40 x 40 section holds some 25 grains), so the
    spread is fitted only where the target's density lies more than :data:`SIGNIFICANCE` standard
    deviations, and more than :data:`MIN_EXCESS`, above that of Voronoi tessellations counted as the
    target was, scaled to its chord (:data:`NOISE_SAMPLES` seed patterns; each is drawn only where
    it is counted, :func:`voronoi_density`: for a target section, that section of the volume alone).
    The seeds come from ``numpy.random.default_rng(seed)`` in every trial, so all are refined on one
    pattern. The start values are those of Poisson-Voronoi tessellations (2D: ``f = 4 sqrt(n / A) / pi``;
    3D: ``f = 1.455 (n / V)^(1/3)``).

    Parameters
    ----------
    shape : tuple of int
    fractions : array_like, shape (ndim,)
        Target share of neighbour pairs across a boundary along each axis (``1 / mean chord``).
    seed : int
    grain_density : float, optional
        The target's grains per pixel (:attr:`~mcrpy_poly.descriptors.Characterization.grain_density`);
        without it, a Voronoi tessellation.
    sections : sequence of (int or None)
        How the target observed the output, one entry per independent map: ``None`` for a map of
        the output's own dimension, else the axis normal to a 2D section
        (:func:`observed_sections`).
    periodic : bool
        Whether the target's grains were counted across its edges.

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
    if grain_density is not None:
        observed = [voronoi_density(shape, int(round(fit[1])), fit[2], [seed, k], periodic, sections, target.mean())
                    for k in range(NOISE_SAMPLES)]
        if grain_density > max(np.mean(observed) + SIGNIFICANCE * np.std(observed),
                               (1 + MIN_EXCESS) * np.mean(observed)):
            reached = counted_density(fit[0], periodic, sections, SLICES_COUNTED)
            for size_spread in SIZE_SPREADS[1:]:
                if reached >= grain_density:
                    break
                previous, previous_reached = fit, reached
                fit = _fitted(shape, target, size_spread, *fit[1:], seed)
                reached = counted_density(fit[0], periodic, sections, SLICES_COUNTED)
                if reached >= grain_density and reached - grain_density > grain_density - previous_reached:
                    fit = previous
    return np.unique(fit[0], return_inverse=True)[1].reshape(shape)


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


def target_grain_density(targets) -> float | None:
    """Mean grain density of the distinct targets (:func:`distinct_targets`); ``None`` when one lacks it."""
    values = [characterization.grain_density for _, characterization in distinct_targets(targets)]
    return None if None in values else float(np.mean(values))


def start_grains(labels: np.ndarray, symmetry, seed: int = 0) -> Grains:
    """:class:`~mcrpy_poly.grains.Grains` of ``labels`` with uniformly random orientations ``(n, 4)``."""
    n = int(labels.max()) + 1
    return Grains(labels=labels, orientations=random_uniform((n,), np.random.default_rng(seed)),
                  symmetry=symmetry, step=(1.0,) * labels.ndim, periodic=True, threshold=THRESHOLD, min_size=1)
