"""Direct-sum NumPy references of the SHSH descriptors (no FFT, no Gram trick), for tests only.

Every statistic is written as its defining mean over pixels, lag by lag, with ``np.roll``
for the periodic shift ``f(x + r)``: ``np.roll(f, -r)[x] = f(x + r)``. An optional ``mask``
(indexed pixels) restricts each mean to the terms whose pixels are all indexed. With
``pooled=True`` the first axis is a batch of fields (slices) and every mean runs over the
batch as well: sums over all slices divided by the summed number of terms. With
``periodic=False`` the shift does not wrap: ``f(x + r)`` is 0 and the pixel counts as not
indexed where ``x + r`` lies outside the field, so each mean runs over the terms inside it.
"""
import itertools

import numpy as np


def shifted(array, lag, pooled=False, periodic=True):
    """``array(x + lag)`` (spatial axes first, after the batch axis if pooled): periodic, or
    0 where ``x + lag`` is outside the grid."""
    first = int(pooled)
    moved = np.roll(array, tuple(-int(r) for r in lag), axis=tuple(range(first, first + len(lag))))
    if not periodic:
        for axis, r in enumerate(lag, start=first):
            index = np.arange(array.shape[axis]) + int(r)
            outside = (index < 0) | (index >= array.shape[axis])
            moved = np.where(outside.reshape((-1,) + (1,) * (array.ndim - axis - 1)), 0.0, moved)
    return moved


def _prepare(field, mask, pooled):
    m = np.ones(field.shape[:-1]) if mask is None else np.asarray(mask, dtype=float)
    return m, field.ndim - 1 - int(pooled), tuple(range(field.ndim - 1))


def window(ndim, limit_to):
    """All lags with ``|r_i| < limit_to``, in C order of the centred window."""
    return list(itertools.product(range(-(limit_to - 1), limit_to), repeat=ndim))


def correlations(field, limit_to, pairs, mask=None, pooled=False, periodic=True):
    """``f_r^{ab} = sum_x m(x) m(x+r) f_a(x) f_b(x+r) / sum_x m(x) m(x+r)``, shape (P, *window)."""
    m, ndim, axes = _prepare(field, mask, pooled)
    side = 2 * limit_to - 1
    out = np.zeros((len(pairs),) + (side,) * ndim)
    for lag in window(ndim, limit_to):
        weight = m * shifted(m, lag, pooled, periodic)
        moved = shifted(field, lag, pooled, periodic)
        index = tuple(r + limit_to - 1 for r in lag)
        for p, (a, b) in enumerate(pairs):
            out[(p,) + index] = np.sum(weight * field[..., a] * moved[..., b]) / np.sum(weight)
    return out


def variogram_lags(ndim, limit_to):
    """Non-zero lags ``r`` in the window with ``r`` lexicographically above ``-r``, sorted."""
    return sorted(r for r in window(ndim, limit_to) if r > tuple(-c for c in r))


def variogram(field, limit_to, mask=None, pooled=False, periodic=True):
    """``gamma_k(r1, r2) = 1/2 mean_x |f_k(x+r1) - f_k(x)| |f_k(x+r2) - f_k(x)|`` over the
    points whose three pixels are indexed, shape (K, n_lags, n_lags)."""
    m, ndim, axes = _prepare(field, mask, pooled)
    lags = variogram_lags(ndim, limit_to)
    out = np.zeros((field.shape[-1], len(lags), len(lags)))
    for i, r1 in enumerate(lags):
        for j, r2 in enumerate(lags):
            weight = m * shifted(m, r1, pooled, periodic) * shifted(m, r2, pooled, periodic)
            product = (np.abs(shifted(field, r1, pooled, periodic) - field)
                       * np.abs(shifted(field, r2, pooled, periodic) - field))
            out[:, i, j] = 0.5 * np.sum(weight[..., None] * product, axis=axes) / np.sum(weight)
    return out


def mean_variation(field, mask=None, pooled=False, periodic=True):
    """``sum_i mean_x |f(x + e_i) - f(x)|`` (pairs with both ends indexed), shape (K,)."""
    m, ndim, axes = _prepare(field, mask, pooled)
    total = np.zeros(field.shape[-1])
    for axis in range(ndim):
        step = tuple(int(i == axis) for i in range(ndim))
        weight = m * shifted(m, step, pooled, periodic)
        diff = np.abs(shifted(field, step, pooled, periodic) - field)
        total += np.sum(weight[..., None] * diff, axis=axes) / np.sum(weight)
    return total


def texture(field, mask=None, pooled=False):
    """Mean of each channel over the indexed pixels, shape (K,)."""
    m, _, axes = _prepare(field, mask, pooled)
    return np.sum(m[..., None] * field, axis=axes) / np.sum(m)


def descriptors(field, limit_to, pairs, mask=None, pooled=False, periodic=True):
    """All four references by name, ``limit_to = {"correlations": int, "variogram": int}``."""
    return {"correlations": correlations(field, limit_to["correlations"], pairs, mask, pooled, periodic),
            "variogram": variogram(field, limit_to["variogram"], mask, pooled, periodic),
            "mean_variation": mean_variation(field, mask, pooled, periodic),
            "texture": texture(field, mask, pooled)}


# -- helpers of the descriptor tests ---------------------------------------------------------------
def random_field(shape, channels=3, seed=0):
    return np.random.default_rng(seed).normal(size=shape + (channels,))


def as_numpy(values):
    return {name: value.numpy() for name, value in values.items()}


def assert_descriptors_close(actual, expected, atol=1e-10):
    assert set(actual) == set(expected)
    for name in expected:
        np.testing.assert_allclose(actual[name], expected[name], rtol=0, atol=atol, err_msg=name)
