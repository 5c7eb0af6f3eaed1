"""Shared plumbing of the descriptor kernels: batched float64 fields, lag windows, masks.

Every kernel works on a *batch* of fields ``(B, *spatial, K)`` (``B = 1`` for one map,
``B = n_slices`` for slice descriptors) and returns ratios ``sums / counts``: per batch
element (``per_element=True``, leading axis ``B``) or pooled over the batch (sums and counts
added over the batch first). Without a mask the count is the plain number of terms, so the
pooled ratio is the batch mean; with a mask of indexed pixels it is the masked mean.
All shapes are static Python ints, so the kernels trace once inside ``tf.function``.

Periodic or not
---------------
The kernels shift with periodic FFTs and rolls: ``f(x + r)`` wraps around the grid, right for
a periodic domain (a reconstruction, a synthetic RVE). A measured map is not periodic: there
each lag must average only the pixel pairs that lie inside the map. That is the masked
statistic of a zero-padded grid (:func:`open_boundaries`): pad every spatial axis by at least
the largest lag with zeros whose mask is 0, so a pair that would wrap around has an end in the
padding and drops out of sums and counts alike. One code path serves both cases, and the
indexed-pixel mask combines with it. The padded size is one whose prime factors are at most 7
(:func:`fft_size`): an FFT of a prime size (557) takes twice as long as one of 576.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from ..errors import ShapeError


def as_field(field) -> tf.Tensor:
    """``field`` as a float64 tensor with static rank 3 (2D map) or 4 (3D volume)."""
    field = tf.cast(field, tf.float64)
    if field.shape.rank not in (3, 4) or None in field.shape.as_list():
        raise ShapeError(f"SHSH field must have a static shape (H, W, K) or (H, W, D, K), got {field.shape}")
    return field


def as_mask(mask, spatial_shape) -> tf.Tensor | None:
    """Indexed-pixel mask as a float64 0/1 tensor of ``spatial_shape`` (``None`` passes)."""
    if mask is None:
        return None
    mask = tf.cast(mask, tf.float64)
    if tuple(mask.shape.as_list()) != tuple(spatial_shape):
        raise ShapeError(f"mask shape {tuple(mask.shape.as_list())} does not match field shape {tuple(spatial_shape)}")
    return mask


def check_window(spatial_shape, limit_to: int, name: str, periodic: bool = True) -> int:
    """Validate a lag window ``|r_i| < limit_to`` against a grid; return ``limit_to``.

    On a periodic grid the window ``2 * limit_to - 1`` must fit in every axis, otherwise lags
    would alias; on a non-periodic one every lag needs a pixel pair, ``limit_to <= axis``.
    """
    limit_to = int(limit_to)
    if limit_to < 1:
        raise ShapeError(f"{name}: limit_to must be >= 1, got {limit_to}")
    needed = 2 * limit_to - 1 if periodic else limit_to
    if needed > min(spatial_shape):
        raise ShapeError(f"{name}: limit_to={limit_to} needs every axis >= {needed} pixels "
                         f"({'periodic' if periodic else 'non-periodic'}), field has {tuple(spatial_shape)}")
    return limit_to


def fft_size(n: int) -> int:
    """Smallest size ``>= n`` with no prime factor above 7 (fast FFTs)."""
    size = max(1, int(n))
    while True:
        rest = size
        for prime in (2, 3, 5, 7):
            while rest % prime == 0:
                rest //= prime
        if rest == 1:
            return size
        size += 1


def open_boundaries(batch, mask, margin: int):
    """A batch made non-periodic for lags ``|r_i| <= margin`` (module docstring).

    Parameters
    ----------
    batch : tf.Tensor, shape (B, *spatial, K)
    mask : tf.Tensor, shape (B, *spatial), or None
        Indexed pixels (``None``: all).
    margin : int
        Largest lag component the kernel shifts by.

    Returns
    -------
    (tf.Tensor, tf.Tensor)
        The batch zero-padded at the end of every spatial axis to ``fft_size(n + margin)``,
        and its mask: the given one (or ones) inside, 0 in the padding.
    """
    spatial = batch.shape.as_list()[1:-1]
    paddings = [[0, 0]] + [[0, fft_size(n + int(margin)) - n] for n in spatial]
    inside = tf.ones(batch.shape[:-1], tf.float64) if mask is None else mask
    return tf.pad(batch, paddings + [[0, 0]]), tf.pad(inside, paddings)


def ratio(sums, counts, per_element: bool):
    """``sums / counts`` per batch element (leading axis), or pooled: both summed over it first."""
    if not per_element:
        sums, counts = tf.reduce_sum(sums, axis=0), tf.reduce_sum(counts, axis=0)
    return sums / counts


def pixel_counts(batch, rank: int) -> tf.Tensor:
    """Pixels per batch element, shape ``(B, 1, ...)`` of rank ``rank`` (unmasked counts)."""
    n_pixels = float(np.prod(batch.shape.as_list()[1:-1]))
    return tf.fill([batch.shape[0]] + [1] * (rank - 1), tf.constant(n_pixels, tf.float64))


def as_batch(field, mask=None):
    """One field as a batch of one: ``(1, *spatial, K)`` and mask ``(1, *spatial)`` or ``None``."""
    field = as_field(field)
    mask = as_mask(mask, field.shape.as_list()[:-1])
    return field[None], (None if mask is None else mask[None])


def slice_batch(volume, axis: int, mask=None):
    """The 2D slices normal to ``axis`` of a volume ``(H, W, D, K)`` as a batch ``(n, A, B, K)``.

    The two in-plane axes keep their order; the mask ``(H, W, D)`` is sliced alike.
    """
    volume = as_field(volume)
    if volume.shape.rank != 4:
        raise ShapeError(f"slice descriptors need a volume (H, W, D, K), got shape {volume.shape}")
    if axis not in (0, 1, 2, -1, -2, -3):
        raise ShapeError(f"slice axis must be 0, 1 or 2, got {axis}")
    axis %= 3
    order = [axis] + [a for a in range(3) if a != axis]
    mask = as_mask(mask, volume.shape.as_list()[:-1])
    return (tf.transpose(volume, order + [3]),
            None if mask is None else tf.transpose(mask, order))
