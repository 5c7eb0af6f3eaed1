"""Inverse SHSH map: from SHSH values back to an orientation.

Generative models and optimisers produce SHSH vectors that need not lie exactly on the
image of the orientation space. :func:`nearest_orientation` returns the orientation whose
SHSH vector is nearest in the Euclidean sense, in two vectorised stages:

1. nearest neighbour among the SHSH vectors of a fixed point set of the fundamental zone:
   a low-discrepancy (Kronecker) sequence in the unit cube, made uniform on SO(3) by
   Shoemake's map and reduced to the fundamental zone, with as many points as a cubic grid
   of ``resolution`` degrees holds (cached on disk per point group and resolution); a
   scipy ``cKDTree`` near the image of the basis, brute force on a coarser set far from it
   (:func:`_nearest_points`);
2. Levenberg-Marquardt in the tangent space of each orientation (forward-difference
   Jacobian, per-point damping), only on the points that have not converged yet.

NumPy and SciPy only. When the map is not injective (few functions), several orientations
share a vector and one of them is returned. Speed and recovery rates: ``benchmarks/RESULTS.md``.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from .quaternion import from_axis_angle, multiply, normalize
from .shsh import disk_cached_array
from .symmetry import reduce_to_fundamental_zone

_STEP = 1e-7  # radians, forward differences
_TOLERANCE = 1e-8  # radians: a point has converged when its (accepted) step is shorter
_NEAR = 2.0  # neighbour spacings of the search set within which the k-d tree answers
#: Roberts' R3 sequence: powers of the inverse of the root of x^4 = x + 1, the most
#: evenly spread Kronecker sequence in three dimensions.
_R3 = 1.0 / 1.2207440845710645 ** np.arange(1, 4)


def fundamental_zone_points(symmetry, resolution: float) -> np.ndarray:
    """Quasi-uniform orientations of the fundamental zone, about ``resolution`` degrees apart.

    ``n = 8 pi^2 / (|G| r^3)`` points (``r`` in radians; ``8 pi^2`` is the volume of SO(3) in
    the rotation-angle metric) of the R3 sequence ``frac(0.5 + i alpha)`` in the unit cube,
    mapped to unit quaternions by Shoemake's uniform map and reduced to the fundamental
    zone. Shape ``(n, 4)``, orix convention; deterministic.
    """
    r = np.radians(resolution)
    n = int(np.ceil(8 * np.pi ** 2 / (symmetry.order * r ** 3)))
    u = (0.5 + np.arange(1, n + 1)[:, None] * _R3) % 1.0
    a, b = np.sqrt(1.0 - u[:, 0]), np.sqrt(u[:, 0])
    turn1, turn2 = 2 * np.pi * u[:, 1], 2 * np.pi * u[:, 2]
    q = np.stack([b * np.cos(turn2), a * np.sin(turn1), a * np.cos(turn1), b * np.sin(turn2)], axis=-1)
    return reduce_to_fundamental_zone(q, symmetry)


def _search_set(basis, resolution: float):
    """``(points, values, tree, spacing)``: the point set, its SHSH vectors, their k-d tree and
    the median distance of a vector to its nearest neighbour (cached per basis and resolution)."""
    cache = basis.__dict__.setdefault("_inverse_sets", {})
    if resolution not in cache:
        name = f"fz_points_{basis.symmetry.name.replace('/', '_')}_{float(resolution):g}deg.npy"
        points = disk_cached_array(name, lambda: fundamental_zone_points(basis.symmetry, resolution),
                                   valid=lambda a: a.ndim == 2 and a.shape[1] == 4)
        values = basis(points)
        tree = cKDTree(values)
        probe = values[:: max(1, len(values) // 256)]  # the spacing from a few hundred points is enough
        cache[resolution] = (points, values, tree, float(np.median(tree.query(probe, k=2)[0][:, 1])))
    return cache[resolution]


def _nearest_points(basis, target, resolution: float) -> np.ndarray:
    """A start orientation for each target vector ``(P, K) -> (P, 4)``.

    Targets within ``_NEAR`` neighbour spacings of the set's vectors (the image of the basis
    and its surroundings) get the nearest point of the set from the k-d tree. A k-d tree in
    K >= 9 dimensions answers queries far from its points only slowly (a generated field's
    vectors can lie well off the image: minutes for a 128 x 128 GRF sample with K = 17), so
    the others get the nearest point of a set twice as coarse by brute force (a matrix
    product); the refinement moves them the rest of the way.
    """
    points, _, tree, spacing = _search_set(basis, resolution)
    distance, index = tree.query(target, distance_upper_bound=_NEAR * spacing, workers=-1)
    near = np.isfinite(distance)
    start = np.empty((len(target), 4))
    start[near] = points[index[near]]
    far = np.flatnonzero(~near)
    if far.size:
        coarse_points, coarse_values, _, _ = _search_set(basis, 2 * resolution)
        squared_norms = np.sum(coarse_values ** 2, axis=-1)
        for chunk in np.array_split(far, -(-far.size // 4096)):
            start[chunk] = coarse_points[np.argmin(squared_norms - 2 * target[chunk] @ coarse_values.T, axis=1)]
    return start


def _tangent_jacobian(basis, q, values):
    """``d basis(q * exp(delta / 2)) / d delta`` at ``delta = 0`` by forward differences,
    shape ``(P, K, 3)``; ``values = basis(q)``."""
    turns = from_axis_angle(np.eye(3), np.full(3, _STEP))  # (3, 4)
    shifted = basis(multiply(q[None], turns[:, None]))  # (3, P, K)
    return np.moveaxis((shifted - values[None]) / _STEP, 0, -1)


def nearest_orientation(basis, values, resolution: float = 3.0, refine_steps: int = 12) -> np.ndarray:
    """Orientations (orix convention, fundamental zone) nearest to SHSH ``values``.

    Parameters
    ----------
    basis : SHSHBasis
    values : array_like, shape (..., K)
    resolution : float
        Spacing in degrees of the point set for the initial search.
    refine_steps : int
        Largest number of Levenberg-Marquardt iterations (0 returns the nearest point of the
        set); points stop earlier once their step is below 1e-8 rad.

    Returns
    -------
    numpy.ndarray, shape (..., 4)
    """
    values = np.asarray(values, dtype=float)
    if values.shape[-1] != basis.n_terms:
        raise ValueError(f"values have {values.shape[-1]} channels, the basis has {basis.n_terms}")
    target = values.reshape(-1, basis.n_terms)
    q = _nearest_points(basis, target, resolution)
    fitted = basis(q)
    cost = np.sum((fitted - target) ** 2, axis=-1)
    damping = np.full(len(q), 1e-6)  # relative to the mean diagonal of J^T J
    active = np.arange(len(q))
    eye = np.eye(3)
    for _ in range(refine_steps):
        if not active.size:
            break
        qa, fa, ta = q[active], fitted[active], target[active]
        jac = _tangent_jacobian(basis, qa, fa)
        jac_t = jac.transpose(0, 2, 1)
        jtj = jac_t @ jac
        jtr = (jac_t @ (fa - ta)[..., None])[..., 0]
        scale = np.trace(jtj, axis1=1, axis2=2) / 3 + 1e-300
        delta = -np.linalg.solve(jtj + (damping[active] * scale)[:, None, None] * eye, jtr[..., None])[..., 0]
        angle = np.linalg.norm(delta, axis=-1)
        axis = np.where(angle[:, None] > 0, delta, eye[0])
        trial = normalize(multiply(qa, from_axis_angle(axis, angle)))
        trial_fitted = basis(trial)
        trial_cost = np.sum((trial_fitted - ta) ** 2, axis=-1)
        better = trial_cost < cost[active]
        accepted = active[better]
        q[accepted], fitted[accepted], cost[accepted] = trial[better], trial_fitted[better], trial_cost[better]
        damping[active] = np.where(better, damping[active] * 0.1, damping[active] * 10.0)
        active = active[(angle > _TOLERANCE) & (damping[active] < 1e6)]
    return reduce_to_fundamental_zone(q, basis.symmetry).reshape(values.shape[:-1] + (4,))
