"""The grain arrays the solver exporters take, checked, on the voxel grid of the exports.

Every exporter of a grain structure (:mod:`~mcrpy_poly.io.damask`, :mod:`~mcrpy_poly.io.abaqus`)
takes the same arrays: ``grain_ids`` (one grain per voxel, ``0 .. n - 1``, as in
``grain_ids.npy``) and ``grain_orientations`` (``(n, 4)`` orix quaternions). A 2D map
``(H, W)`` becomes a volume one voxel thick, ``(H, W, 1)``.

Axes as in :mod:`mcrpy_poly.io.export`: ``x`` along axis 1 (W), ``y`` along axis 0 (H), ``z``
along axis 2 (D), so each section normal to ``z`` is the map as an ``.ang`` file shows it.
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError


def check_grain_arrays(grain_ids, grain_orientations, step):
    """Validate the exporters' input and put it on the ``(x, y, z)`` grid.

    Parameters
    ----------
    grain_ids : array_like of int, shape (H, W) or (H, W, D)
        Grain of every voxel, ``0 .. n - 1``, every grain present.
    grain_orientations : array_like, shape (n, 4)
        Orientation of each grain, orix quaternions.
    step : float or sequence of float
        Voxel spacing per axis ``(dy, dx[, dz])`` in um (one number for all axes); a 2D
        map's single layer is ``dx`` thick.

    Returns
    -------
    ids_xyz : numpy.ndarray of int32, shape (nx, ny, nz)
    orientations : numpy.ndarray of float64, shape (n, 4)
        Unit quaternions.
    spacing_xyz : numpy.ndarray of float64, shape (3,)
        ``(dx, dy, dz)`` in um.
    """
    ids = np.asarray(grain_ids)
    orientations = np.asarray(grain_orientations, dtype=np.float64)
    if ids.ndim not in (2, 3) or not np.issubdtype(ids.dtype, np.integer):
        raise InputError(f"grain ids must be an integer map (H, W) or volume (H, W, D), got {ids.dtype} {ids.shape}")
    if orientations.ndim != 2 or orientations.shape[1] != 4:
        raise InputError(f"grain orientations must have shape (n_grains, 4), got {orientations.shape}")
    n = len(orientations)
    if ids.min() < 0 or ids.max() >= n or len(np.unique(ids)) != n:
        raise InputError(f"grain ids must cover 0 .. {n - 1} (one per grain orientation) with every voxel in a "
                         f"grain; found {ids.min()} .. {ids.max()} ({len(np.unique(ids))} distinct)")
    steps = np.broadcast_to(np.asarray(step, dtype=np.float64), (ids.ndim,))
    if ids.ndim == 2:
        ids, steps = ids[..., None], np.r_[steps, steps[1]]
    spacing = np.array([steps[1], steps[0], steps[2]])
    return (np.transpose(ids, (1, 0, 2)).astype(np.int32), orientations / np.linalg.norm(orientations, axis=1,
                                                                                          keepdims=True), spacing)
