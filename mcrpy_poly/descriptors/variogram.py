"""Hybrid three-point variogram of SHSH channels (paper 004, Eqs. 20-21, first order).

``gamma_k(r1, r2) = 1/2 mean_x |f_k(x + r1) - f_k(x)| |f_k(x + r2) - f_k(x)|`` for all pairs
of lags in :func:`variogram_lags`, built from the first-order (madogram) increments
``|f_k(x + r) - f_k(x)|``; the diagonal ``r1 = r2`` is the semivariogram
``1/2 mean_x (f_k(x + r) - f_k(x))^2``. With the increment fields stacked as the rows of a
matrix ``D_k`` (lags x pixels), ``gamma_k = D_k D_k^T / (2 n_x)``: all lag pairs come from
one Gram matrix (one matmul) per channel; the increment fields themselves are one periodic
roll per lag. Non-periodic: the masked variogram of the zero-padded field
(:func:`~._grid.open_boundaries`), only points whose three pixels lie inside the map count.
"""
from __future__ import annotations

from functools import cache
from itertools import product

import numpy as np
import tensorflow as tf

from ..errors import MemoryBudgetError
from ._grid import as_batch, check_window, open_boundaries, pixel_counts, ratio

#: Largest increment stack (channels x lags x pixels) built at once: 4 MB of float64, so that
#: one stack stays in cache (measured: 128 x 128, 9 channels, one channel at a time is fastest).
_STACK_ELEMENTS = 2 ** 19
#: Refuse a single channel's increment stack above this (1 GiB of float64).
_MAX_STACK_ELEMENTS = 2 ** 27


@cache
def _lags(ndim: int, limit_to: int) -> np.ndarray:
    window = range(-(limit_to - 1), limit_to)
    lags = [r for r in product(window, repeat=ndim) if next((c for c in r if c), 0) > 0]
    lags = np.array(lags, dtype=np.int64).reshape(-1, ndim)
    lags.setflags(write=False)
    return lags


def variogram_lags(ndim: int, limit_to: int) -> np.ndarray:
    """Lag vectors of the hybrid variogram: one of each pair ``+-r`` in the window.

    All non-zero ``r`` with ``|r_i| < limit_to`` whose first non-zero component is positive,
    in lexicographic order. ``r`` and ``-r`` have the same semivariogram, so keeping one of
    them loses nothing on the diagonal; it halves the lags (and quarters the Gram cost).

    Parameters
    ----------
    ndim : int
        2 or 3 spatial axes.
    limit_to : int

    Returns
    -------
    numpy.ndarray of int, shape (((2*limit_to-1)**ndim - 1) // 2, ndim), read-only
    """
    return _lags(int(ndim), int(limit_to))


def _at_lags(values, lags, axes):
    """``values(x + r)`` (periodic along ``axes``) for every lag ``r``, as a list."""
    return [tf.roll(values, [-int(c) for c in r], axes) for r in lags]


def _gram_of_increments(channels, pair_mask, lags, axes):
    """``G[k, i, j] = sum_x a_i a_j``, ``a_i = m(x) m(x + r_i) |f_k(x + r_i) - f_k(x)|``.

    ``channels`` ``(R, B, *spatial)``; ``pair_mask`` ``(1, B, n_lags, n_x)`` or ``None``.
    The gradient is written out (one matmul, then each lag's contribution rolled back),
    about twice as fast as differentiating through the rolls and the stack.

    Returns
    -------
    tf.Tensor, shape (R, B, n_lags, n_lags): one Gram matrix per channel and batch element
    """
    n_lags = len(lags)

    @tf.custom_gradient
    def gram(values):
        differences = tf.reshape(tf.stack([moved - values for moved in _at_lags(values, lags, axes)], axis=2),
                                 [*values.shape[:2], n_lags, -1])
        increments = tf.abs(differences) if pair_mask is None else tf.abs(differences) * pair_mask

        def backward(upstream):
            weights = tf.sign(differences) if pair_mask is None else tf.sign(differences) * pair_mask
            d_increments = tf.matmul(upstream + tf.linalg.matrix_transpose(upstream), increments) * weights
            per_lag = tf.unstack(tf.reshape(d_increments, [*values.shape[:2], n_lags, *values.shape[2:]]), axis=2)
            moved_back = [tf.roll(c, [int(v) for v in r], axes) for c, r in zip(per_lag, lags)]  # c(x - r)
            return tf.add_n(moved_back) - tf.add_n(per_lag)

        return tf.matmul(increments, increments, transpose_b=True), backward

    return gram(channels)


def batch_variogram(batch, mask, limit_to: int, per_element: bool = False, periodic: bool = True) -> tf.Tensor:
    """Hybrid variogram of a batch of fields (see :func:`hybrid_variogram`).

    Parameters
    ----------
    batch : tf.Tensor, shape (B, *spatial, K), float64
    mask : tf.Tensor, shape (B, *spatial), float64 0/1, or None
    limit_to : int
    per_element : bool
        One result per batch element instead of the pooled one.
    periodic : bool
        Periodic grid, or the points inside the fields only.

    Returns
    -------
    tf.Tensor, shape (K, n_lags, n_lags), or (B, K, n_lags, n_lags) per element
    """
    limit_to = check_window(batch.shape.as_list()[1:-1], limit_to, "variogram", periodic)
    if not periodic:
        batch, mask = open_boundaries(batch, mask, limit_to - 1)
    spatial = batch.shape.as_list()[1:-1]
    lags = variogram_lags(len(spatial), limit_to)
    axes = list(range(2, len(spatial) + 2))
    channels = tf.transpose(batch, [len(spatial) + 1, 0, *range(1, len(spatial) + 1)])  # (K, B, *spatial)
    per_channel = len(lags) * batch.shape[0] * int(np.prod(spatial))
    if per_channel > _MAX_STACK_ELEMENTS:
        raise MemoryBudgetError(f"variogram: {len(lags)} lags (limit_to={limit_to}, {len(spatial)}D) on "
                                f"{batch.shape[0]} x {tuple(spatial)} pixels need {per_channel * 8 / 2 ** 30:.1f} GiB "
                                f"per channel; use a smaller limit_to or slice descriptors")
    if mask is None:
        pair_mask, counts = None, pixel_counts(batch, 4)
    else:
        pair_mask = tf.reshape(tf.stack([moved * mask for moved in _at_lags(mask[None], lags, axes)], axis=2),
                               [1, batch.shape[0], len(lags), -1])  # m(x) m(x + r)
        # sum_x m(x) m(x + r1) m(x + r2), shape (B, 1, n_lags, n_lags)
        counts = tf.transpose(tf.matmul(pair_mask, pair_mask, transpose_b=True), [1, 0, 2, 3])
    # Channels in groups whose increment stack stays below _STACK_ELEMENTS (memory, cache).
    group = max(1, _STACK_ELEMENTS // per_channel)
    grams = tf.concat([_gram_of_increments(channels[k:k + group], pair_mask, lags, axes)
                       for k in range(0, channels.shape[0], group)], axis=0)
    return ratio(tf.transpose(grams, [1, 0, 2, 3]), 2.0 * counts, per_element)


def hybrid_variogram(field, limit_to: int = 4, *, mask=None, periodic: bool = True) -> tf.Tensor:
    """First-order hybrid three-point variogram of each SHSH channel.

    Parameters
    ----------
    field : array_like or tf.Tensor, shape (H, W, K) or (H, W, D, K)
    limit_to : int
        Lag window ``|r_i| < limit_to``; lags from :func:`variogram_lags`.
    mask : array_like of bool, shape (H, W[, D]), optional
        Indexed pixels. With a mask, only points ``x`` whose three pixels ``x, x+r1, x+r2``
        are all indexed enter the mean for ``(r1, r2)``.
    periodic : bool
        Shifts wrap around the grid; ``False``: only points ``x`` whose three pixels lie
        inside the field count (a measured map).

    Returns
    -------
    tf.Tensor, shape (K, n_lags, n_lags), float64
        ``[k, i, j] = gamma_k(lags[i], lags[j])``, symmetric in ``i, j``; the diagonal is the
        semivariogram ``1/2 mean_x (f_k(x + r) - f_k(x))^2``.
    """
    return batch_variogram(*as_batch(field, mask), limit_to, periodic=periodic)
