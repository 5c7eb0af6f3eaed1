"""Inverse SHSH map: from SHSH values back to an orientation.

Generative models and optimisers produce SHSH vectors that need not lie exactly on the
image of the orientation space. :func:`nearest_orientation` returns the orientation whose
SHSH vector is nearest in the Euclidean sense: a nearest-neighbour search over a
fundamental-zone grid (orix ``get_sample_fundamental``), then damped Gauss-Newton in the
tangent space of each orientation. When the map is not injective (few functions), several
orientations share a vector and one of them is returned.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from .quaternion import from_axis_angle, multiply, normalize
from .symmetry import reduce_to_fundamental_zone

_STEP = 1e-5  # radians, central differences


def _grid(basis, resolution: float):
    cache = basis.__dict__.setdefault("_inverse_grids", {})
    if resolution not in cache:
        from orix.sampling import get_sample_fundamental

        rot = get_sample_fundamental(resolution=resolution, point_group=basis.symmetry.to_orix())
        grid = normalize(np.asarray(rot.data, dtype=float))
        cache[resolution] = (grid, cKDTree(basis(grid)))
    return cache[resolution]


def nearest_orientation(basis, values, resolution: float = 3.0, refine_steps: int = 8) -> np.ndarray:
    """Orientations (orix convention, fundamental zone) nearest to SHSH ``values``.

    Parameters
    ----------
    basis : SHSHBasis
    values : array_like, shape (..., K)
    resolution : float
        Grid spacing in degrees for the initial search.
    refine_steps : int
        Gauss-Newton iterations (0 returns the grid point).

    Returns
    -------
    numpy.ndarray, shape (..., 4)
    """
    values = np.asarray(values, dtype=float)
    if values.shape[-1] != basis.n_terms:
        raise ValueError(f"values have {values.shape[-1]} channels, the basis has {basis.n_terms}")
    target = values.reshape(-1, basis.n_terms)
    grid, tree = _grid(basis, resolution)
    q = grid[tree.query(target)[1]]
    residual = basis(q) - target
    cost = np.sum(residual ** 2, axis=-1)
    eye = np.eye(3)
    steps = [from_axis_angle(eye[i], _STEP) for i in range(3)] + [from_axis_angle(eye[i], -_STEP) for i in range(3)]
    for _ in range(refine_steps):
        f = [basis(multiply(q, d)) for d in steps]
        jac = np.stack([(f[i] - f[i + 3]) / (2 * _STEP) for i in range(3)], axis=-1)  # (P, K, 3)
        jtj = np.einsum("pki,pkj->pij", jac, jac)
        jtr = np.einsum("pki,pk->pi", jac, residual)
        damping = 1e-9 + 1e-6 * np.trace(jtj, axis1=1, axis2=2)[:, None, None]
        delta = -np.linalg.solve(jtj + damping * eye, jtr[..., None])[..., 0]
        angle = np.linalg.norm(delta, axis=-1)
        axis = np.where(angle[:, None] > 0, delta, eye[0])
        trial = normalize(multiply(q, from_axis_angle(axis, angle)))
        trial_residual = basis(trial) - target
        trial_cost = np.sum(trial_residual ** 2, axis=-1)
        better = trial_cost < cost
        q = np.where(better[:, None], trial, q)
        residual = np.where(better[:, None], trial_residual, residual)
        cost = np.where(better, trial_cost, cost)
    return reduce_to_fundamental_zone(q, basis.symmetry).reshape(values.shape[:-1] + (4,))
