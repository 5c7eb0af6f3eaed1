"""The grain stage: from an optimised orientation field to grains a crystal-plasticity solver can use.

The descriptor loss is minimised pixel by pixel, so its result may keep a little orientation drift
inside grains and specks of a few pixels where two grains compete. The grain stage, run after the
last multigrid level:

1. segments the field (:func:`mcrpy_poly.grains.segment_grains`: face neighbours within
   ``threshold`` degrees are one grain, periodic);
2. dissolves components below the minimum size (5 px in 2D, 27 voxels in 3D) into the grain of their
   nearest pixel that belongs to a larger one;
3. gives every grain one orientation (its symmetry-aware mean);
4. polishes the grain orientations with the descriptor loss of the final grid, keeping every pixel's
   grain identity: the state is one 4-vector per grain, the field is that vector gathered to the
   grain's pixels, and the gradient is the sum of the pixel gradients over each grain; touching
   grains are kept more than :data:`SEPARATION_DEGREES` apart (:class:`~.loss.GrainLoss`), so
   that they stay distinct grains.

The result is a field of uniform grains with sharp boundaries; the returned segmentation is that of
the returned field (two touching grains that end up closer than the threshold are one grain).
"""
from __future__ import annotations

import numpy as np
from scipy import optimize

from ..grains import THRESHOLD, Grains, segment_grains
from ..orientation import OrientationMap
from ..orientation.symmetry import reduce_to_fundamental_zone
from .grain_start import threshold_distance

#: Share of the reconstruction's evaluation budget spent on the polish.
POLISH_SHARE = 0.1
#: Misorientation (degrees) under which the polish pushes touching grains apart: the segmentation
#: threshold with a margin, so that the grains stay apart after the mean and the fundamental zone.
SEPARATION_DEGREES = 1.5 * THRESHOLD


def uniform_grains(omap: OrientationMap, threshold: float = THRESHOLD, min_size: int | None = None) -> Grains:
    """Steps 1-3 of the module docstring: the segmentation of ``omap`` (periodic), specks dissolved
    (if no component reaches the minimum size, none is dissolved)."""
    grains = segment_grains(omap, threshold=threshold, periodic=True, min_size=min_size)
    return grains if grains.n_grains else segment_grains(omap, threshold=threshold, periodic=True, min_size=1)


def grain_field(grains: Grains) -> np.ndarray:
    """The quaternion field ``(*shape, 4)`` with every pixel at its grain's orientation."""
    return grains.orientations[grains.labels]


def polish(grains: Grains, loss, max_iter: int, callback=None) -> np.ndarray:
    """Step 4: minimise ``loss`` over one orientation per grain, ``max_iter`` evaluations (L-BFGS-B).

    Parameters
    ----------
    grains : Grains
        Labels ``(*shape)`` (every pixel labelled) and start orientations ``(n, 4)``.
    loss : DescriptorLoss
        Loss of the final grid, evaluated per grain (:class:`~.loss.GrainLoss`, touching grains
        kept :data:`SEPARATION_DEGREES` apart).
    max_iter : int
    callback : callable, optional
        ``callback(loss_value, orientations)`` after every evaluation, with the evaluated grain
        orientations ``(n, 4)``.

    Returns
    -------
    numpy.ndarray, shape (n, 4)
        Polished grain orientations (unit quaternions, not yet in the fundamental zone).
    """
    import tensorflow as tf

    from .loss import GrainLoss

    grain_loss = GrainLoss(loss, grains.labels, threshold_distance(loss.basis, SEPARATION_DEGREES))
    n = grains.n_grains
    best = {"loss": np.inf, "x": grains.orientations.ravel(), "evaluations": 0}

    def value_and_gradient(flat):
        if best["evaluations"] >= max_iter:
            raise StopIteration  # L-BFGS-B may overrun maxfun inside a line search
        per_grain = flat.reshape(n, 4)
        value, gradient = grain_loss.value_and_gradient(tf.constant(per_grain, tf.float64))
        value = float(value)
        best["evaluations"] += 1
        if value < best["loss"]:
            best.update(loss=value, x=flat.copy())
        if callback is not None:
            callback(value, per_grain)
        return value, gradient.numpy().ravel()

    if max_iter >= 1:
        try:
            optimize.minimize(value_and_gradient, best["x"], jac=True, method="L-BFGS-B",
                              options=dict(maxfun=int(max_iter), maxiter=int(max_iter)))
        except StopIteration:
            pass
    polished = best["x"].reshape(n, 4)
    return polished / np.linalg.norm(polished, axis=1, keepdims=True)


def run_grain_stage(omap: OrientationMap, loss=None, max_iter: int = 0, callback=None,
                    threshold: float = THRESHOLD) -> tuple:
    """The whole grain stage (module docstring).

    Parameters
    ----------
    omap : OrientationMap
        The optimised field (final grid).
    loss : DescriptorLoss, optional
        Loss of the final grid for the polish (none: no polish).
    max_iter : int
        Evaluations of the polish.
    callback : callable, optional
        ``callback(loss_value, orientations)`` after every polish evaluation (:func:`polish`).
    threshold : float
        Segmentation threshold, degrees.

    Returns
    -------
    (OrientationMap, Grains)
        The field of uniform grains (fundamental zone) and its segmentation.
    """
    grains = uniform_grains(omap, threshold)
    field = grain_field(grains)
    if loss is not None and max_iter > 0 and grains.n_grains > 0:
        field = polish(grains, loss, max_iter, callback)[grains.labels]
    field = OrientationMap(reduce_to_fundamental_zone(field, omap.symmetry), omap.symmetry, step=omap.step,
                           phase_name=omap.phase_name, source=omap.source, periodic=omap.periodic)
    grains = uniform_grains(field, threshold)  # what the returned field segments into
    return field, grains
