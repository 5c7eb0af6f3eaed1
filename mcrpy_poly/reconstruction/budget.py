"""Checks before anything is allocated: does the shape fit the descriptor windows and memory?

NumPy only, so that the commands check a run before TensorFlow is imported."""
from __future__ import annotations

import os

import numpy as np

from ..errors import MemoryBudgetError, ShapeError

#: The loss descriptors by default and the default lag windows: ``reconstruction.loss.DEFAULT_DESCRIPTORS`` and
#: ``descriptors.DEFAULT_LIMIT_TO``, repeated here (NumPy only) for the checks before TensorFlow; a test keeps
#: them equal.
LOSS_DESCRIPTORS = ("correlations", "variogram", "mean_variation", "texture", "boundaries")
DEFAULT_WINDOWS = {"correlations": 16, "variogram": 4}
#: Float64 values held per pixel for the state, its SHSH field and the optimiser (L-BFGS memory).
_PER_PIXEL = 100
#: Float64 values held per pixel of every slice (or of the field), per unit of each descriptor's size.
_PER_SLICE_PIXEL = {"correlations": 4, "variogram": 6, "mean_variation": 8, "texture": 2, "boundaries": 3}
#: Thresholds of the boundaries descriptor (:data:`mcrpy_poly.descriptors.boundaries.N_BINS`).
_BOUNDARY_BINS = 32
#: Float64 values held per correlation value in the lag window of every slice (value, residual,
#: its square, gradient).
_PER_WINDOW_VALUE = 4


def check_shape(shape, limits: dict, periodic: bool = True) -> None:
    """Raise :class:`ShapeError` if an axis of ``shape`` is shorter than a descriptor window
    (``2 * limit_to - 1`` pixels on a periodic grid, ``limit_to`` on a non-periodic map)."""
    for name, limit_to in limits.items():
        needed = 2 * limit_to - 1 if periodic else limit_to
        if min(shape) < needed:
            raise ShapeError(f"shape {tuple(shape)} is smaller than the {name} window: limit_to={limit_to} needs "
                             f"every axis >= {needed} pixels")


def estimate_bytes(shape, n_channels: int, names, limits: dict, n_pairs: int, sliced: bool) -> int:
    """Rough peak memory of the loss, its gradient and the optimiser, in bytes.

    Parameters
    ----------
    shape : tuple of int
    n_channels : int
        SHSH functions K.
    names : sequence of str
        Descriptors of the loss.
    limits : dict of str to int
    n_pairs : int
        Correlation pairs.
    sliced : bool
        2D -> 3D slice loss (every voxel is in three slices).
    """
    n = int(np.prod(shape))
    ndim = 2 if sliced else len(shape)
    sizes = {"correlations": n_pairs, "mean_variation": n_channels, "texture": n_channels,
             "boundaries": (ndim + ndim * (ndim - 1)) * _BOUNDARY_BINS}  # directions x thresholds
    if "variogram" in names:
        ndim = 2 if sliced else len(shape)
        n_lags = ((2 * limits["variogram"] - 1) ** ndim - 1) // 2  # one of each +-r (descriptors.variogram_lags)
        sizes["variogram"] = n_channels * n_lags
    per_slice_pixel = sum(_PER_SLICE_PIXEL[name] * sizes[name] for name in names)
    window_values = 0
    if "correlations" in names:  # the loss keeps every slice's correlations in the lag window
        side = 2 * int(limits["correlations"]) - 1
        window_values = (sum(shape) * side ** 2 if sliced else side ** len(shape)) * n_pairs * _PER_WINDOW_VALUE
    return 8 * (n * (_PER_PIXEL + 20 * n_channels) + (3 if sliced else 1) * n * per_slice_pixel + window_values)


def largest_window(shape, n_channels: int, names, limits: dict, n_pairs: int, sliced: bool,
                   limit: int | None = None) -> int:
    """Largest correlation window that fits the domain ``shape`` (``2 * limit_to - 1`` pixels
    per axis) and the memory (:func:`estimate_bytes` within ``limit``, default the memory
    available now); at least 1. Arguments as in :func:`estimate_bytes` (``limits`` holds the
    other windows)."""
    limit = available_bytes() if limit is None else int(limit)
    window = max(1, (min(int(s) for s in shape) + 1) // 2)
    while window > 1 and estimate_bytes(shape, n_channels, names, {**limits, "correlations": window}, n_pairs,
                                        sliced) > limit:
        window -= 1
    return window


def available_bytes() -> int:
    """Memory available to this process now (``MemAvailable`` on Linux)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")


def check_memory(estimate: int, limit: int | None = None) -> None:
    """Raise :class:`MemoryBudgetError` if ``estimate`` exceeds ``limit`` (default: available memory)."""
    limit = available_bytes() if limit is None else int(limit)
    if estimate > limit:
        raise MemoryBudgetError(f"the reconstruction needs about {estimate / 2**30:.1f} GiB, only "
                                f"{limit / 2**30:.1f} GiB are available; choose a smaller shape")
