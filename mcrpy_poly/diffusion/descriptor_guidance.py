"""Descriptor guidance: steer the predicted clean field towards a reference's two-point
correlations at every step (issue 13, beyond paper 000). **TensorFlow only**: the gradient
comes from the project's differentiable correlations (:mod:`mcrpy_poly.descriptors`), so this
module is not imported by :mod:`mcrpy_poly.diffusion` and is the one part of the diffusion
code that needs TensorFlow.

The loss of a predicted field ``x0`` (scaled units, one per sample) is the squared relative
error of its periodic auto/cross-correlations (all channel pairs, lags ``|r_i| < limit_to``)
against the reference's, ``L = ||f(x0) - f_ref||^2 / ||f_ref||^2``. The displacement is a
damped Polyak step, ``d = -w L / ||grad L||^2 grad L``: ``w = 1`` would remove the loss to
first order, smaller ``w`` moves part of the way (:func:`~.lgd.x0_correction` turns it into a
change of the predicted noise).
"""
from __future__ import annotations

import numpy as np


def correlation_guidance(reference, weight: float = 0.3, limit_to: int = 8):
    """``x0 (B, H, W, K) -> d`` towards the two-point correlations of ``reference (H', W', K)``.

    Parameters
    ----------
    reference : array_like, shape (H, W, K)
        The reference field in the same (scaled) units as the samples.
    weight : float
        ``w`` of the damped Polyak step (module notes).
    limit_to : int
        Lag window of the correlations.
    """
    import tensorflow as tf

    from ..descriptors.correlations import batch_correlations

    target = batch_correlations(tf.constant(np.asarray(reference, np.float64)[None]), None, limit_to)
    norm = tf.reduce_sum(target ** 2)

    @tf.function(reduce_retracing=True)
    def loss_and_gradient(x0):
        with tf.GradientTape() as tape:
            tape.watch(x0)
            values = batch_correlations(x0, None, limit_to, per_element=True)
            loss = tf.reduce_sum((values - target[None]) ** 2, axis=tuple(range(1, len(values.shape)))) / norm
        return loss, tape.gradient(loss, x0)

    def displacement(x0):
        loss, gradient = (a.numpy() for a in loss_and_gradient(tf.constant(np.asarray(x0, np.float64))))
        squared = np.sum(gradient ** 2, axis=tuple(range(1, gradient.ndim)))
        step = weight * loss / np.maximum(squared, 1e-300)
        return (-step.reshape((-1,) + (1,) * (gradient.ndim - 1)) * gradient).astype(np.float32)

    return displacement
