"""Spatial statistics of SHSH fields and their relative error maps (paper 004, Fig. 12).

On 2D planes (a map, or all slices of a volume normal to one axis, pooled) with the
indexed-pixel mask ``m``:

- two-point correlations ``C_ab(r) = sum_x m(x) m(x+r) f_a(x) f_b(x+r) / sum_x m(x) m(x+r)``
  for all channel pairs ``a <= b`` (the masked correlations of :mod:`mcrpy_poly.descriptors`);
- semivariogram maps ``gamma_k(r) = sum_x m(x) m(x+r) (f_k(x+r) - f_k(x))^2 / (2 sum_x m(x) m(x+r))``
  (the diagonal of the descriptors' hybrid variogram, here over the whole correlation window).

Both come from one call of the descriptors' two-point correlations on the stacked field
``[m f, m f^2, m]``: periodic for a map that continues across its faces, otherwise over the
pixel pairs inside the map (the definition of the reconstruction's targets, so a map compared
with itself gives zero error).

Relative error maps, per map and lag ``r`` (:data:`ERROR_SCALE` says which per descriptor):

- ``"value"`` (variograms, as paper 004, Fig. 12): ``|c(r) - r(r)| / max(|r(r)|, ERROR_FLOOR *
  max_r |r|)``; the floor keeps lags where the reference is near zero (``r = 0``) finite;
- ``"peak"`` (correlations, whose tails sit near zero for zero-mean channels; paper 000 also
  measures their errors against the peak): ``|c(r) - r(r)| / max_r |r|``.
"""
from __future__ import annotations

import numpy as np

from .pictures import save_figure

#: Denominator floor of the relative error maps, as a fraction of the map's largest |value|.
ERROR_FLOOR = 0.01
#: Denominator of the relative error maps per descriptor (module docstring).
ERROR_SCALE = {"correlations": "peak", "variogram": "value"}
#: Error level of the "share of the lag window under ..." metric (paper 004: 5 %).
ERROR_LEVEL = 0.05


def window_limit(shapes, limit_to: int) -> int:
    """Largest lag window ``<= limit_to`` that fits every 2D plane shape in ``shapes``."""
    return max(1, min(int(limit_to), *[(min(shape) + 1) // 2 for shape in shapes]))


def plane_statistics(field, indexed, limit_to: int, axis=None, periodic: bool = True) -> dict:
    """Correlations and semivariogram maps of a 2D field, or of a volume's slices.

    Parameters
    ----------
    field : numpy.ndarray, shape (H, W, K) or (H, W, D, K)
        SHSH channels.
    indexed : numpy.ndarray of bool, shape (H, W[, D])
    limit_to : int
        Lags ``|r_i| < limit_to``.
    axis : int, optional
        For a volume: pool the 2D slices normal to this axis.
    periodic : bool
        Lags wrap around the planes, or only pixel pairs inside them count.

    Returns
    -------
    dict
        ``"correlations"``: ``(K (K + 1) / 2, 2L-1, 2L-1)`` in the order of
        :func:`~mcrpy_poly.descriptors.channel_pairs`; ``"variogram"``: ``(K, 2L-1, 2L-1)``;
        ``"pairs"``: the channel pairs.
    """
    from ..descriptors import channel_pairs, compute_descriptors, slice_descriptors

    k = field.shape[-1]
    mask = indexed[..., None].astype(float)
    stacked = np.concatenate([field * mask, field ** 2 * mask, mask], axis=-1)
    pairs = channel_pairs(k)
    squares = [(k + c, 2 * k) for c in range(k)] + [(2 * k, k + c) for c in range(k)]
    all_pairs = pairs + squares + [(2 * k, 2 * k)]
    options = dict(pairs=all_pairs, periodic=periodic)
    if axis is None:
        sums = compute_descriptors(stacked, ["correlations"], limit_to, **options)["correlations"]
    else:
        sums = slice_descriptors(stacked, ["correlations"], limit_to, axis=axis, **options)["correlations"]
    sums = np.asarray(sums)
    n_pairs, pair_counts = len(pairs), sums[-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        correlations = sums[:n_pairs] / pair_counts
        autos = sums[[pairs.index((c, c)) for c in range(k)]]
        squared = sums[n_pairs:n_pairs + k] + sums[n_pairs + k:n_pairs + 2 * k]
        variogram = (squared - 2.0 * autos) / (2.0 * pair_counts)
    return {"correlations": correlations, "variogram": variogram, "pairs": pairs}


def relative_error_map(candidate, reference, scale: str = "value") -> np.ndarray:
    """Relative error of maps ``(n_maps, ...)`` lag by lag, against the reference ``"value"``
    (with a floor) or its ``"peak"`` (module docstring)."""
    reference = np.asarray(reference)
    axes = tuple(range(1, reference.ndim))
    peak = np.nanmax(np.abs(reference), axis=axes, keepdims=True)
    denominator = peak if scale == "peak" else np.maximum(np.abs(reference), ERROR_FLOOR * peak)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.abs(np.asarray(candidate) - reference) / denominator


def share_below(errors, level: float = ERROR_LEVEL) -> float:
    """Fraction of the finite entries of ``errors`` below ``level``."""
    finite = np.isfinite(errors)
    return float(np.mean(errors[finite] < level)) if finite.any() else float("nan")


def save_statistics_figure(path, reference, candidate, channels, title: str, scale: str = "value",
                           axis_names=("y", "x"), dpi: int = 90):
    """Reference, candidate and relative-error maps (rows) of selected channels (columns),
    written atomically as PNG; lag ``r = 0`` in the centre of each panel.

    Parameters
    ----------
    reference, candidate : numpy.ndarray, shape (K, 2L-1, 2L-1)
    channels : sequence of int
        Which maps to show (0-based; labelled ``f_{k+1}``).
    title : str
    scale : str
        Denominator of the relative error, ``"value"`` or ``"peak"``.
    axis_names : (str, str)
        Sample axes along the panel rows and columns (``("x", "z")`` for the slices
        normal to y).
    """
    import matplotlib.pyplot as plt

    errors = relative_error_map(candidate, reference, scale)
    fig, axes = plt.subplots(3, len(channels), squeeze=False, figsize=(3.6 * len(channels), 8.4))
    half = (reference.shape[-1] - 1) / 2
    extent = (-half - 0.5, half + 0.5, half + 0.5, -half - 0.5)
    for col, c in enumerate(channels):
        low = min(np.nanmin(reference[c]), np.nanmin(candidate[c]))
        high = max(np.nanmax(reference[c]), np.nanmax(candidate[c]))
        for row, (label, values) in enumerate((("reference", reference[c]), ("candidate", candidate[c]))):
            image = axes[row, col].imshow(values, vmin=low, vmax=high, cmap="viridis", extent=extent)
            axes[row, col].set_title(f"{label} f{c + 1}", fontsize=10)
            fig.colorbar(image, ax=axes[row, col], shrink=0.9)
        error_image = axes[2, col].imshow(100 * errors[c], vmin=0.0, vmax=15.0, cmap="magma", extent=extent)
        what = "error / peak" if scale == "peak" else "rel. error"
        axes[2, col].set_title(f"{what} f{c + 1} (<5 %: {100 * share_below(errors[c]):.0f} %)", fontsize=9)
        fig.colorbar(error_image, ax=axes[2, col], shrink=0.9, label="%")
    ticks = [-(half // 2) * 2, 0, (half // 2) * 2]
    for (row, col), ax in np.ndenumerate(axes):
        ax.set_xticks(ticks if row == 2 else [])
        ax.set_yticks(ticks if col == 0 else [])
        ax.tick_params(labelsize=7)
    for ax in axes[-1]:
        ax.set_xlabel(f"lag {axis_names[1]} (px)", fontsize=8)
    for ax in axes[:, 0]:
        ax.set_ylabel(f"lag {axis_names[0]} (px)", fontsize=8)
    fig.suptitle(title)
    fig.subplots_adjust(left=0.07, right=0.96, top=0.92, bottom=0.06, wspace=0.35, hspace=0.3)
    return save_figure(fig, path, dpi)
