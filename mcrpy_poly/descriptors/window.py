"""The correlation lag window chosen from the map: large enough to see its grains.

A fixed window (16 px) is blind to grains larger than it: the correlations then say nothing
about the grain size, and the reconstruction's grains come out too small. The window is chosen
from the map's **correlation length** ``l``: the lag at which the normalised auto-covariance of
the SHSH channels,

``rho(r) = sum_k (C_kk(r) - mean_k^2) / sum_k (C_kk(0) - mean_k^2)``,

averaged over the lags of length ``|r|`` (radially), first falls below ``1/e``. For grains of
unrelated orientations ``rho(r)`` is about the probability that ``x`` and ``x + r`` lie in the
same grain, so ``l`` scales with the grain size: 0.5 to 0.65 times the mean equivalent diameter
on the maps of ``benchmarks/results/targets.md``. The window covers :data:`LENGTHS_PER_WINDOW`
correlation lengths, at least the fixed default, at most half the map (each lag then still has
at least half of the map's pixel pairs per axis), at most :data:`MAX_WINDOW`, and at most any
``max_window`` the caller sets (the reconstruction domain, memory:
:func:`mcrpy_poly.reconstruction.budget.largest_window`).
"""
from __future__ import annotations

import math

import numpy as np

from .correlations import two_point_correlations
from .registry import DEFAULT_LIMIT_TO
from .texture import texture

#: The chosen window spans this many correlation lengths (``rho`` has decayed to about ``e^-3 = 0.05``).
LENGTHS_PER_WINDOW = 3.0
#: Decay level of ``rho`` that defines the correlation length.
DECAY = math.exp(-1.0)
#: Smallest window chosen: the fixed default it replaces.
MIN_WINDOW = DEFAULT_LIMIT_TO["correlations"]
#: Largest window chosen (127 lags per axis); also the reach of the search for ``l``.
MAX_WINDOW = 64


def map_window_cap(shape) -> int:
    """Largest window for a map or plane of ``shape``: lags up to half its shortest axis, at
    most :data:`MAX_WINDOW`."""
    return max(1, min(MAX_WINDOW, (min(int(s) for s in shape) + 1) // 2))


def covariance_profile(field, limit_to: int, mask=None, periodic: bool = True) -> np.ndarray:
    """Radially averaged normalised auto-covariance ``rho(r)`` (module docstring), ``r = 0 ..
    limit_to - 1`` px.

    Parameters
    ----------
    field : numpy.ndarray, shape (H, W[, D], K)
        SHSH channels.
    limit_to : int
    mask : numpy.ndarray of bool, shape (H, W[, D]), optional
        Indexed pixels.
    periodic : bool

    Returns
    -------
    numpy.ndarray, shape (limit_to,)
    """
    n_channels = field.shape[-1]
    autos = two_point_correlations(field, limit_to, pairs=[(k, k) for k in range(n_channels)], mask=mask,
                                   periodic=periodic).numpy()
    means = texture(field, mask=mask).numpy()
    covariance = np.sum(autos - (means ** 2).reshape(-1, *[1] * (autos.ndim - 1)), axis=0)
    centre = (limit_to - 1,) * covariance.ndim
    if covariance[centre] <= 0:
        return np.zeros(limit_to)  # a uniform map: no length to see
    covariance = covariance / covariance[centre]
    radius = np.sqrt(sum(np.square(g) for g in np.meshgrid(*[np.arange(-(limit_to - 1), limit_to)] * covariance.ndim,
                                                          indexing="ij")))
    shell = np.rint(radius).astype(int)
    inside = shell < limit_to
    sums = np.bincount(shell[inside], covariance[inside], minlength=limit_to)
    counts = np.bincount(shell[inside], minlength=limit_to)
    return sums / counts


def correlation_length(profile) -> float:
    """First lag (px, linearly interpolated) where ``profile`` falls below :data:`DECAY`;
    ``inf`` if it never does."""
    profile = np.asarray(profile, dtype=np.float64)
    below = np.flatnonzero(profile < DECAY)
    if below.size == 0:
        return math.inf
    r = int(below[0])
    if r == 0:
        return 0.0
    return (r - 1) + (profile[r - 1] - DECAY) / (profile[r - 1] - profile[r])


def choose_window(omap, basis=None, slice_axis: int | None = None, periodic: bool | None = None,
                  max_window: int | None = None) -> int:
    """Correlation window ``limit_to`` chosen from the map (module docstring).

    Parameters
    ----------
    omap : OrientationMap
        2D map or 3D volume (non-indexed pixels are left out of the covariance).
    basis : SHSHBasis, optional
        Default ``SHSHBasis(omap.symmetry)``.
    slice_axis : int, optional
        For a volume: the window of its 2D slices normal to this axis (the profile of the
        middle slice).
    periodic : bool, optional
        Default ``omap.periodic``.
    max_window : int, optional
        A further cap (reconstruction domain, memory).

    Returns
    -------
    int
        ``clip(ceil(LENGTHS_PER_WINDOW * l) + 1, MIN_WINDOW, cap)`` with ``cap`` the smallest
        of :func:`map_window_cap` and ``max_window``.
    """
    return window_and_length(omap, basis, slice_axis, periodic, max_window)[0]


def window_and_length(omap, basis=None, slice_axis: int | None = None, periodic: bool | None = None,
                      max_window: int | None = None) -> tuple[int, float]:
    """:func:`choose_window` and the correlation length it was chosen from (px)."""
    from ..orientation import SHSHBasis

    basis = SHSHBasis(omap.symmetry) if basis is None else basis
    periodic = omap.periodic if periodic is None else bool(periodic)
    return window_of_field(omap.shsh(basis), omap.indexed, slice_axis, periodic, max_window)


def window_of_field(field, indexed, slice_axis: int | None = None, periodic: bool = False,
                    max_window: int | None = None) -> tuple[int, float]:
    """:func:`window_and_length` of an SHSH field ``(H, W[, D], K)`` with its indexed pixels."""
    if slice_axis is not None:
        middle = field.shape[slice_axis] // 2
        field, indexed = np.take(field, middle, axis=slice_axis), np.take(indexed, middle, axis=slice_axis)
    search = map_window_cap(field.shape[:-1])
    cap = search if max_window is None else max(1, min(search, int(max_window)))
    length = correlation_length(covariance_profile(field, search, None if indexed.all() else indexed, periodic))
    wanted = math.ceil(LENGTHS_PER_WINDOW * length) + 1 if math.isfinite(length) else search
    return int(min(max(wanted, MIN_WINDOW), cap)), float(length)
