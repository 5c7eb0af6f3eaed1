"""Checks before anything is allocated: does the shape fit the descriptor windows and memory?

NumPy only, so that the commands check a run before TensorFlow is imported."""
from __future__ import annotations

import os

import numpy as np

from ..errors import MemoryBudgetError, ShapeError

#: The loss descriptors by default and the default lag windows: ``reconstruction.loss.DEFAULT_DESCRIPTORS`` and
#: ``descriptors.DEFAULT_LIMIT_TO``, repeated here (NumPy only) for the checks before TensorFlow; a test keeps
#: them equal.
LOSS_DESCRIPTORS = ("correlations", "variogram", "mean_variation", "texture")
DEFAULT_WINDOWS = {"correlations": 16, "variogram": 4}
#: Float64 values held per pixel for the state, its SHSH field and the optimiser (L-BFGS memory).
_PER_PIXEL = 100
#: Float64 values held per pixel of every slice (or of the field), per unit of each descriptor's size.
_PER_SLICE_PIXEL = {"correlations": 4, "variogram": 6, "mean_variation": 8, "texture": 2}


def check_shape(shape, limits: dict) -> None:
    """Raise :class:`ShapeError` if an axis of ``shape`` is shorter than a descriptor window."""
    for name, limit_to in limits.items():
        if min(shape) < 2 * limit_to - 1:
            raise ShapeError(f"shape {tuple(shape)} is smaller than the {name} window: limit_to={limit_to} needs "
                             f"every axis >= {2 * limit_to - 1} pixels")


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
    sizes = {"correlations": n_pairs, "mean_variation": n_channels, "texture": n_channels}
    if "variogram" in names:
        ndim = 2 if sliced else len(shape)
        n_lags = ((2 * limits["variogram"] - 1) ** ndim - 1) // 2  # one of each +-r (descriptors.variogram_lags)
        sizes["variogram"] = n_channels * n_lags
    per_slice_pixel = sum(_PER_SLICE_PIXEL[name] * sizes[name] for name in names)
    return 8 * (n * (_PER_PIXEL + 20 * n_channels) + (3 if sliced else 1) * n * per_slice_pixel)


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
