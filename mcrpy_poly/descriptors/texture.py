"""Texture: spatial mean of each SHSH channel, i.e. the ODF coefficients of those functions
(paper 004, Eq. 17, up to the normalisation of the basis)."""
from __future__ import annotations

import tensorflow as tf

from ._grid import as_batch, pixel_counts, ratio


def batch_texture(batch, mask, limit_to=None, per_element: bool = False, periodic: bool = True) -> tf.Tensor:
    """Channel means of a batch ``(B, *spatial, K)``; ``limit_to`` and ``periodic`` (a mean
    over pixels shifts nothing) are ignored.

    Returns
    -------
    tf.Tensor, shape (K,), or (B, K) per element
    """
    axes = list(range(1, batch.shape.rank - 1))
    if mask is None:
        return ratio(tf.reduce_sum(batch, axis=axes), pixel_counts(batch, 2), per_element)
    return ratio(tf.reduce_sum(batch * mask[..., None], axis=axes), tf.reduce_sum(mask, axis=axes)[:, None],
                 per_element)


def texture(field, limit_to=None, *, mask=None, periodic: bool = True) -> tf.Tensor:
    """Spatial mean of each SHSH channel (over indexed pixels when ``mask`` is given).

    Parameters
    ----------
    field : array_like or tf.Tensor, shape (H, W, K) or (H, W, D, K)
    limit_to : ignored
    mask : array_like of bool, shape (H, W[, D]), optional
    periodic : ignored
        The same for periodic and non-periodic fields.

    Returns
    -------
    tf.Tensor, shape (K,), float64
    """
    return batch_texture(*as_batch(field, mask))
