"""Two-point correlations of SHSH channels (paper 004, Eq. 19), by FFT.

``f_r^{ab} = mean_x f_a(x) f_b(x + r)`` for channel pairs ``(a, b)``, cropped to the lag
window ``|r_i| < limit_to``: on a periodic grid the mean over all pixels; on a non-periodic
one over the pairs ``x, x + r`` inside the map (zero-padded FFTs divided by the pair counts,
:func:`~._grid.open_boundaries`). ``f_r^{ab} = f_{-r}^{ba}``, so the pairs ``a <= b`` hold
all the information.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from ..errors import InputError
from ._grid import as_batch, check_window, open_boundaries


def channel_pairs(n_channels: int) -> list[tuple[int, int]]:
    """All auto- and cross-correlation pairs ``(a, b)`` with ``a <= b``, row by row."""
    return [(a, b) for a in range(n_channels) for b in range(a, n_channels)]


def _check_pairs(pairs, n_channels: int) -> np.ndarray:
    pairs = np.asarray(channel_pairs(n_channels) if pairs is None else pairs, dtype=np.int64).reshape(-1, 2)
    if pairs.size == 0 or pairs.min() < 0 or pairs.max() >= n_channels:
        raise InputError(f"correlation pairs must be channel indices in [0, {n_channels}), got {pairs.tolist()}")
    return pairs


def _spectra(channels, ndim: int):
    """Half spectra of real fields ``(..., *spatial)``. In 3D ``rfft2d`` over the last two axes,
    then ``fft`` over the first, moved last (TensorFlow has no gradient for ``rfft3d``); the
    layout only has to match :func:`_inverse`."""
    half = tf.signal.rfft2d(channels)
    if ndim == 2:
        return half
    rank = half.shape.rank
    return tf.signal.fft(tf.transpose(half, [*range(rank - 3), rank - 2, rank - 1, rank - 3]))


def _inverse(spectra, spatial):
    """Real fields ``(P, *spatial)`` from half spectra laid out as :func:`_spectra` makes them."""
    if len(spatial) == 3:
        spectra = tf.transpose(tf.signal.ifft(spectra), [0, 3, 1, 2])
    return tf.signal.irfft2d(spectra, fft_length=spatial[-2:])


def _correlation_sums(batch, limit_to: int, pairs: np.ndarray, per_element: bool) -> tf.Tensor:
    """``sum_x f_a(x) f_b(x + r)`` per pair and window lag, ``(B, P, *window)``; pooled
    (summed over the batch before the inverse FFT), ``(1, P, *window)``."""
    spatial = batch.shape.as_list()[1:-1]
    ndim = len(spatial)
    spectra = _spectra(tf.transpose(batch, [0, ndim + 1, *range(1, ndim + 1)]), ndim)  # (B, K, ...)
    cross = tf.math.conj(tf.gather(spectra, pairs[:, 0], axis=1)) * tf.gather(spectra, pairs[:, 1], axis=1)
    if not per_element:
        cross = tf.reduce_sum(cross, axis=0, keepdims=True)
    full = _inverse(tf.reshape(cross, [-1, *cross.shape[2:]]), spatial)  # (B * P, *spatial)
    for axis, n in enumerate(spatial):
        full = tf.gather(full, np.arange(-(limit_to - 1), limit_to) % n, axis=axis + 1)
    return tf.reshape(full, [cross.shape[0], len(pairs), *full.shape[1:]])


def batch_correlations(batch, mask, limit_to: int, pairs=None, per_element: bool = False,
                       periodic: bool = True) -> tf.Tensor:
    """Two-point correlations of a batch of fields (see :func:`two_point_correlations`).

    Parameters
    ----------
    batch : tf.Tensor, shape (B, *spatial, K), float64
    mask : tf.Tensor, shape (B, *spatial), float64 0/1, or None
    limit_to : int
    pairs : sequence of (int, int), optional
    per_element : bool
        One result per batch element instead of the pooled one.
    periodic : bool
        Periodic grid, or the pixel pairs inside the fields only.

    Returns
    -------
    tf.Tensor, shape (n_pairs, *window), or (B, n_pairs, *window) per element
    """
    spatial = batch.shape.as_list()[1:-1]
    limit_to = check_window(spatial, limit_to, "correlations", periodic)
    pairs = _check_pairs(pairs, batch.shape[-1])
    if not periodic:
        batch, mask = open_boundaries(batch, mask, limit_to - 1)
        spatial = batch.shape.as_list()[1:-1]
    if mask is None:
        sums = _correlation_sums(batch, limit_to, pairs, per_element)
        counts = float(np.prod(spatial)) * (1 if per_element else batch.shape[0])
    else:
        sums = _correlation_sums(batch * mask[..., None], limit_to, pairs, per_element)
        # Pair counts are integers: rounding removes the FFT's round-off, so a lag without pairs is 0 / 0.
        counts = tf.round(_correlation_sums(mask[..., None], limit_to, np.zeros((1, 2), np.int64), per_element))
    values = sums / counts
    return values if per_element else values[0]


def two_point_correlations(field, limit_to: int = 16, pairs=None, *, mask=None, periodic: bool = True) -> tf.Tensor:
    """Two-point correlations of the SHSH channels, cropped to ``|r_i| < limit_to``.

    Parameters
    ----------
    field : array_like or tf.Tensor, shape (H, W, K) or (H, W, D, K)
        SHSH channel maps (cast to float64).
    limit_to : int
        Lags ``-(limit_to-1) .. limit_to-1`` per axis; ``2*limit_to-1`` must fit in each axis
        (periodic), ``limit_to`` (non-periodic).
    pairs : sequence of (int, int), optional
        Channel pairs ``(a, b)``; default :func:`channel_pairs` (all ``a <= b``).
    mask : array_like of bool, shape (H, W[, D]), optional
        Indexed pixels. With a mask ``f_r^{ab} = sum_x m(x) m(x+r) f_a(x) f_b(x+r) /
        sum_x m(x) m(x+r)``: pixel pairs with a non-indexed end are left out.
    periodic : bool
        ``x + r`` wraps around the grid; ``False``: only pairs with both ends inside the
        field count (a measured map), ``m(x + r) = 0`` outside.

    Returns
    -------
    tf.Tensor, shape (n_pairs, 2*limit_to-1, 2*limit_to-1[, 2*limit_to-1]), float64
        Index ``limit_to - 1`` on each lag axis is ``r = 0``: ``[p, i, j]`` holds the lag
        ``(i - limit_to + 1, j - limit_to + 1)`` of pair ``p``.
    """
    return batch_correlations(*as_batch(field, mask), limit_to, pairs=pairs, periodic=periodic)
