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
   measures;
3. each cell gets a random orientation, and the orientations are fitted to the descriptor loss
   with the grain identities fixed (:func:`mcrpy_poly.reconstruction.grain_stage.polish`).

In 2D -> 3D the loss compares :data:`SLICES_PER_AXIS` slices per axis, not all of them.
"""
from __future__ import annotations

import numpy as np

from ..descriptors.boundaries import distance_scale, thresholds
from ..grains import Grains
from ..orientation.quaternion import from_axis_angle, multiply, random_uniform
from ..synthetic import voronoi_labels

#: Misorientation (degrees) that separates grains, as in the grain stage and the grain metrics.
THRESHOLD = 5.0
#: Refinements of the tessellation's seed count and aspect.
REFINEMENTS = 8
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


def tessellation(shape, fractions, seed: int = 0) -> np.ndarray:
    """Periodic Voronoi labels ``(*shape)`` whose boundary fraction along each axis matches ``fractions``.

    The seeds come from ``numpy.random.default_rng(seed)`` in every refinement, so the seed count and
    the aspect are refined on one pattern; the refinement closest to ``fractions`` (largest relative
    deviation over the axes) is returned (with few cells the integer seed count makes it oscillate). The start values are those of Poisson-Voronoi
    tessellations (2D: ``f = 4 sqrt(n / A) / pi``; 3D: ``f = 1.455 (n / V)^(1/3)``).

    Parameters
    ----------
    shape : tuple of int
    fractions : array_like, shape (ndim,)
        Target share of neighbour pairs across a boundary along each axis (``1 / mean chord``).
    seed : int

    Returns
    -------
    numpy.ndarray of int, shape ``shape``
        Cell ids ``0 .. n - 1`` (every id used).
    """
    shape = tuple(int(s) for s in shape)
    ndim = len(shape)
    target = np.clip(np.asarray(fractions, dtype=float), 0.5 / max(shape), 1.0)
    density = (np.pi * target.mean() / 4) ** 2 if ndim == 2 else (target.mean() / 1.455) ** 3
    n_seeds = float(np.clip(density * np.prod(shape), 1, np.prod(shape)))
    aspect, best, best_error = np.ones(ndim), None, np.inf
    for _ in range(REFINEMENTS):
        labels = voronoi_labels(shape, int(round(n_seeds)), aspect, np.random.default_rng(seed))
        measured = np.array([np.mean(labels != np.roll(labels, -1, axis=a)) for a in range(ndim)])
        error = np.max(np.abs(measured / target - 1))
        if error < best_error:
            best, best_error = labels, error
        if measured.min() <= 0:  # one cell: more seeds
            n_seeds = min(2 * n_seeds + 1, np.prod(shape))
            continue
        n_seeds = float(np.clip(n_seeds * (target.mean() / measured.mean()) ** ndim, 1, np.prod(shape)))
        aspect = aspect * measured / target
        aspect = aspect / np.prod(aspect) ** (1 / ndim)
    labels = best
    return np.unique(labels, return_inverse=True)[1].reshape(shape)


def start_grains(labels: np.ndarray, symmetry, seed: int = 0) -> Grains:
    """:class:`~mcrpy_poly.grains.Grains` of ``labels`` with uniformly random orientations ``(n, 4)``."""
    n = int(labels.max()) + 1
    return Grains(labels=labels, orientations=random_uniform((n,), np.random.default_rng(seed)),
                  symmetry=symmetry, step=(1.0,) * labels.ndim, periodic=True, threshold=THRESHOLD, min_size=1)
