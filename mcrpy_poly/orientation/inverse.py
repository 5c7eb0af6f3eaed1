"""Inverse SHSH map: from SHSH values back to an orientation.

Generative models and optimisers produce SHSH vectors that need not lie exactly on the
image of the orientation space. :func:`nearest_orientation` returns the orientation whose
SHSH vector is nearest in the Euclidean sense, in two vectorised stages:

1. nearest neighbour among the SHSH vectors of a fixed point set of the fundamental zone:
   a low-discrepancy (Kronecker) sequence in the unit cube, made uniform on SO(3) by
   Shoemake's map and reduced to the fundamental zone, with as many points as a cubic grid
   of ``resolution`` degrees holds (cached on disk per point group and resolution, its SHSH
   values too when small); a scipy ``cKDTree`` near the image of the basis, brute force on
   a coarser set far from it (:func:`_nearest_points`);
2. Levenberg-Marquardt in the tangent space of each orientation (per-point damping), only
   on the points that have not converged yet. The Jacobian costs one small matrix product:
   the crystal symmetry acts on the left of an orix quaternion, so the derivative of an
   SHSH of index ``N`` along a turn on the right, ``d/dt f(q * exp(t e_i / 2))``, is again
   an SHSH of index ``N``: ``J_i(q) = f_full(q) @ A_i`` with fixed ``K_full x K``
   matrices (``f_full``: all functions of the basis's degrees, of which the basis takes the
   first ``K``), fitted once per basis, exactly, as the logarithm of the linear map of a
   finite turn (:func:`_tangent_generators`).

Identical input vectors (grain maps hold few distinct orientations) are solved once
(:func:`_unique_rows`). A point near the image that ends with a residual above 1e-3 (a
local minimum) is solved again from the next 4 nearest points of the set, keeping the best.
NumPy and SciPy only. When the map is not injective (few functions), several orientations
share a vector and one of them is returned. Speed and recovery rates: ``benchmarks/RESULTS.md``.
"""
from __future__ import annotations

import hashlib

import numpy as np
from scipy.linalg import logm
from scipy.spatial import cKDTree

from .quaternion import from_axis_angle, multiply, normalize, random_uniform
from .shsh import SHSH_VERSION, SHSHBasis, disk_cached_array
from .symmetry import reduce_to_fundamental_zone

_LAST_STEP = 1e-7  # radians: a shorter undamped step is taken without a check, and the point has converged
_TOLERANCE = 1e-8  # radians: so is any shorter step
_STUCK = 1e-3  # residual norm above which a point near the image is tried again from other starts
_RETRIES = 4  # further start points (next nearest of the set) for those
_NEAR = 4.0  # neighbour spacings of the search set within which the k-d tree answers
_EPS = 1.0  # the k-d tree may answer a point up to 1 + _EPS times farther than the nearest (4x faster in K = 60)
_CACHED_VALUES_BYTES = 16 << 20  # search-set values up to this size are kept on disk
_TURN = 0.1  # radians, the finite turn whose logarithm gives the tangent generators
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
    """``(points, values, tree, spacing)``: the point set, the values there of all functions of
    the basis's degrees (of which the basis's are the first ``K``; :func:`_tangent_generators`),
    the k-d tree of the basis's values and the median distance of such a vector to its nearest
    neighbour (cached per basis and resolution; the values also on disk when small)."""
    cache = basis.__dict__.setdefault("_inverse_sets", {})
    if resolution not in cache:
        name = f"fz_points_{basis.symmetry.name.replace('/', '_')}_{float(resolution):g}deg.npy"
        points = disk_cached_array(name, lambda: fundamental_zone_points(basis.symmetry, resolution),
                                   valid=lambda a: a.ndim == 2 and a.shape[1] == 4)
        full = _tangent_generators(basis)[0]
        if len(points) * full.n_terms * 8 <= _CACHED_VALUES_BYTES:
            check = full(points[:8])
            values = disk_cached_array(f"inverse_values_{_file_tag(full)}_{float(resolution):g}deg.npy",
                                       lambda: full(points),
                                       valid=lambda a: a.shape == (len(points), full.n_terms)
                                       and np.allclose(a[:8], check, rtol=0, atol=1e-12))
        else:
            values = full(points)
        tree = cKDTree(values[:, : basis.n_terms])
        probe = tree.data[:: max(1, len(values) // 256)]  # the spacing from a few hundred points is enough
        cache[resolution] = (points, values, tree, float(np.median(tree.query(probe, k=2)[0][:, 1])))
    return cache[resolution]


def _block_norms(basis):
    """``(columns, norms)`` of the degrees whose functions the basis holds all of: on the
    image of the basis the norm of such a block of values is one constant (right turns act
    on the block's span orthogonally, and they reach every orientation), so
    ``sqrt(sum_N (|v_N| - norm_N)^2)`` is a lower bound of the distance of ``v`` to the image."""
    cache = basis.__dict__
    if "_inverse_block_norms" not in cache:
        from .shsh import shsh_dimension

        values = basis(random_uniform(64, rng=1))
        columns, norms = [], []
        for N in basis.degrees:
            own = [j for j, (n, _) in enumerate(basis.labels) if n == N]  # consecutive
            cols = slice(own[0], own[-1] + 1)
            if len(own) == shsh_dimension(basis.symmetry, N):
                norm = np.linalg.norm(values[:, cols], axis=-1)
                if np.ptp(norm) <= 1e-9 * norm.mean():
                    columns.append(cols)
                    norms.append(norm.mean())
        cache["_inverse_block_norms"] = (columns, np.array(norms))
    return cache["_inverse_block_norms"]


def _nearest_points(basis, target, resolution: float):
    """A start orientation for each target vector ``(P, K) -> (P, 4)``, and the values there of
    all functions of the basis's degrees ``(P, K_full)``, and whether the k-d tree answered.

    Targets within ``_NEAR`` neighbour spacings of the set's vectors (the image of the basis
    and its surroundings) get a near point of the set from the k-d tree (approximate: at most
    ``1 + _EPS`` times the distance of the nearest). A k-d tree in
    K >= 9 dimensions answers queries far from its points only slowly (a generated field's
    vectors can lie well off the image: minutes for a 128 x 128 GRF sample with K = 17), so
    the others get the nearest point of a set twice as coarse by brute force (a matrix
    product); the refinement moves them the rest of the way. Targets whose block norms
    (:func:`_block_norms`) already place them that far from the image skip the tree.
    """
    points, values, tree, spacing = _search_set(basis, resolution)
    bound = _NEAR * spacing
    columns, norms = _block_norms(basis)
    gap = np.zeros(len(target))
    for cols, norm in zip(columns, norms):
        gap += (np.sqrt(np.einsum("ij,ij->i", target[:, cols], target[:, cols])) - norm) ** 2
    start = np.empty((len(target), 4))
    near_mask = np.zeros(len(target), dtype=bool)
    start_values = np.empty((len(target), values.shape[1]))
    near_enough = gap <= bound * bound
    candidates, far = np.flatnonzero(near_enough), np.flatnonzero(~near_enough)  # NaN rows: far
    if candidates.size:
        distance, index = tree.query(target[candidates], eps=_EPS, distance_upper_bound=bound, workers=-1)
        near = np.isfinite(distance)
        start[candidates[near]] = points[index[near]]
        start_values[candidates[near]] = values[index[near]]
        near_mask[candidates[near]] = True
        far = np.union1d(far, candidates[~near])
    if far.size:
        coarse_points, coarse_values, _, _ = _search_set(basis, 2 * resolution)
        own = np.ascontiguousarray(coarse_values[:, : basis.n_terms].T)
        half_norms = 0.5 * np.sum(own ** 2, axis=0)
        for chunk in np.array_split(far, -(-far.size // 1024)):
            score = target[chunk] @ own
            score -= half_norms
            best = np.argmax(score, axis=1)
            start[chunk], start_values[chunk] = coarse_points[best], coarse_values[best]
    return start, start_values, near_mask


def _tangent_generators(basis):
    """``(full, generators)``: the basis of all functions of ``basis.degrees`` (``basis``
    itself when it has them all) and ``(K_full, 3 K)`` with
    ``d basis(q * exp(delta / 2)) / d delta_i = (full(q) @ generators)[:, i K:(i + 1) K]``.

    The right turns by ``t`` map the span of ``full`` to itself linearly, ``full(q * r_t) =
    full(q) @ M_t`` (fitted exactly at random orientations), and ``M_t = exp(t A)``; so
    ``A = log(M_t) / t`` (real: ``M_t`` is orthogonal for orthonormal functions). Cached per
    basis and on disk; checked against central differences whether built or read."""
    cache = basis.__dict__
    if "_inverse_generators" not in cache:
        full = SHSHBasis(basis.symmetry, degrees=basis.degrees)
        if full.labels[: basis.n_terms] != basis.labels:
            raise RuntimeError(f"{basis!r} is not a leading part of {full!r}")
        if full.n_terms == basis.n_terms:
            full = basis
        q, h = random_uniform(8, rng=20261303), 3e-5
        values = full(q)
        slopes = [(full(multiply(q, from_axis_angle(axis, h))) - full(multiply(q, from_axis_angle(axis, -h)))) / (2 * h)
                  for axis in np.eye(3)]

        def misfit(a):
            if a.shape != (3, full.n_terms, full.n_terms) or not np.all(np.isfinite(a)):
                return np.inf
            return max(np.abs(values @ a[i] - slopes[i]).max() / max(np.abs(slopes[i]).max(), 1.0) for i in range(3))

        name = f"inverse_generators_{_file_tag(full)}.npy"
        generators = disk_cached_array(name, lambda: _fit_generators(full), valid=lambda a: misfit(a) <= 1e-6)
        if misfit(generators) > 1e-6:
            raise RuntimeError(f"tangent generators of {basis!r} misfit by {misfit(generators):.1e}")
        cache["_inverse_generators"] = (full, np.concatenate(list(generators[:, :, : basis.n_terms]), axis=1))
    return cache["_inverse_generators"]


def _fit_generators(full) -> np.ndarray:
    """``A_i`` of :func:`_tangent_generators` for all functions, shape ``(3, K_full, K_full)``."""
    q = random_uniform(8 * full.n_terms, rng=20261302)
    values = full(q)
    return np.stack([np.real(logm(np.linalg.lstsq(values, full(multiply(q, from_axis_angle(axis, _TURN))),
                                                  rcond=None)[0])) / _TURN for axis in np.eye(3)])


def _file_tag(basis) -> str:
    """File name part naming a basis: point group and a hash of its group and functions."""
    key = np.round(basis.symmetry.quaternions, 12).tobytes() + repr((SHSH_VERSION, basis.labels)).encode()
    return f"{basis.symmetry.name.replace('/', '_')}_{hashlib.sha1(key).hexdigest()[:12]}"


def _damped_step(j0, j1, j2, residual, damping):
    """Levenberg-Marquardt step ``-(J^T J + damping * mean diag * I)^-1 J^T r`` for the three
    Jacobian columns ``j0, j1, j2`` ``(P, K)`` (the 3 x 3 systems by cofactors: faster than
    batched ``matmul`` and ``solve`` on thousands of tiny matrices)."""
    def dot(u, v):  # row by row; einsum is several times faster than sum(u * v, 1) here
        return np.einsum("ij,ij->i", u, v)

    a00, a11, a22, a01, a02, a12 = dot(j0, j0), dot(j1, j1), dot(j2, j2), dot(j0, j1), dot(j0, j2), dot(j1, j2)
    b0, b1, b2 = dot(j0, residual), dot(j1, residual), dot(j2, residual)
    extra = damping * ((a00 + a11 + a22) / 3 + 1e-300)
    a00, a11, a22 = a00 + extra, a11 + extra, a22 + extra
    c00 = a11 * a22 - a12 * a12
    c01 = a02 * a12 - a01 * a22
    c02 = a01 * a12 - a02 * a11
    c11 = a00 * a22 - a02 * a02
    c12 = a01 * a02 - a00 * a12
    c22 = a00 * a11 - a01 * a01
    det = a00 * c00 + a01 * c01 + a02 * c02
    det[det == 0] = np.inf  # no rotation changes the functions (a constant): no step
    return np.stack([c00 * b0 + c01 * b1 + c02 * b2,
                     c01 * b0 + c11 * b1 + c12 * b2,
                     c02 * b0 + c12 * b1 + c22 * b2], axis=-1) / -det[:, None]


def _reduce(q, symmetry) -> np.ndarray:
    """:func:`~mcrpy_poly.orientation.symmetry.reduce_to_fundamental_zone` of ``(P, 4)``,
    with the scalar parts of all ``s * q`` from one matrix product."""
    group = symmetry.quaternions
    best = np.argmax(np.abs(q @ (group * [1.0, -1.0, -1.0, -1.0]).T), axis=1)
    return normalize(multiply(group[best], q))


def _unique_rows(a):
    """``(rows, inverse)`` with ``rows[inverse] == a``: the distinct rows of ``a`` in the order
    of their first occurrence.

    Rows are grouped by a fixed random linear key (one sort of a vector, cheaper than
    ``np.unique(axis=0)``), and a row joins its group's first row only when the two are
    equal entry by entry; a key collision, or a row with a NaN, stays a row of its own.
    """
    n = len(a)
    if n < 2:
        return a, np.arange(n)
    weights = np.random.default_rng(7).uniform(0.5, 1.5, a.shape[1])
    key = a[:, 0] * weights[0]
    for j in range(1, a.shape[1]):  # column by column: the same arithmetic for equal rows
        key = key + a[:, j] * weights[j]
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    starts = np.empty(n, dtype=bool)
    starts[0] = True
    np.not_equal(sorted_key[1:], sorted_key[:-1], out=starts[1:])
    first = np.empty(n, dtype=np.intp)
    first[order] = order[np.flatnonzero(starts)][np.cumsum(starts) - 1]
    alone = np.flatnonzero(np.any(a[first] != a, axis=1))
    first[alone] = alone
    kept = np.flatnonzero(first == np.arange(n))
    position = np.empty(n, dtype=np.intp)
    position[kept] = np.arange(len(kept))
    return a[kept], position[first]


def nearest_orientation(basis, values, resolution: float = 3.0, refine_steps: int = 24,
                        deduplicate: bool = True) -> np.ndarray:
    """Orientations (orix convention, fundamental zone) nearest to SHSH ``values``.

    Parameters
    ----------
    basis : SHSHBasis
    values : array_like, shape (..., K)
    resolution : float
        Spacing in degrees of the point set for the initial search.
    refine_steps : int
        Largest number of Levenberg-Marquardt iterations (0 returns the nearest point of the
        set). A point stops earlier once its step is below 1e-8 rad, or below 1e-7 rad while
        undamped (that step is taken without a check: the next would be about its square).
        Values on the image of the basis take 3 or 4; values off it (generated fields)
        converge only linearly, and so do values where the functions barely change along
        some turn (flat valleys of the default bases of groups 4 and 6).
    deduplicate : bool
        Solve each distinct vector once and copy the result to its repeats (the same result
        as solving them all, apart from round-off).

    Returns
    -------
    numpy.ndarray, shape (..., 4)
    """
    values = np.asarray(values, dtype=float)
    if values.shape[-1] != basis.n_terms:
        raise ValueError(f"values have {values.shape[-1]} channels, the basis has {basis.n_terms}")
    target = values.reshape(-1, basis.n_terms)
    if not np.all(np.isfinite(target)):
        bad = int(np.sum(~np.all(np.isfinite(target), axis=-1)))
        raise ValueError(f"SHSH values must be finite: {bad} of {len(target)} vectors hold NaN or inf")
    if not len(target):
        return np.zeros(values.shape[:-1] + (4,))
    if deduplicate:
        target, inverse = _unique_rows(target)
    start, start_values, near = _nearest_points(basis, target, resolution)
    q, cost = _refine(basis, target, start, start_values, refine_steps)
    # A point near the image that ended with a residual has met a local minimum: try again
    # from the next nearest points of the set and keep the best.
    stuck = np.flatnonzero(near & (cost > _STUCK ** 2))
    if stuck.size and refine_steps:
        points, set_values, tree, _ = _search_set(basis, resolution)
        index = tree.query(target[stuck], k=1 + _RETRIES)[1][:, 1:].ravel()
        retry_q, retry_cost = _refine(basis, np.repeat(target[stuck], _RETRIES, axis=0), points[index],
                                      set_values[index], refine_steps)
        retry_cost = retry_cost.reshape(-1, _RETRIES)
        best = np.argmin(retry_cost, axis=1)
        rows = np.arange(len(stuck))
        better = retry_cost[rows, best] < cost[stuck]
        q[stuck[better]] = retry_q.reshape(-1, _RETRIES, 4)[rows, best][better]
    q = _reduce(q, basis.symmetry)
    if deduplicate:
        q = q[inverse]
    return q.reshape(values.shape[:-1] + (4,))


def _refine(basis, target, q, fitted, limit):
    """Levenberg-Marquardt from start orientations ``q`` ``(P, 4)`` towards ``target`` ``(P, K)``;
    ``fitted``: the values of :func:`_tangent_generators`'s ``full`` at ``q`` (updated in place).
    ``limit``: the most iterations of each point ``(P,)``. Returns the orientations and their
    squared residuals (before a last unchecked step)."""
    k = basis.n_terms
    full, generators = _tangent_generators(basis)
    q = q.copy()
    cost = np.einsum("ij,ij->i", fitted[:, :k] - target, fitted[:, :k] - target)
    damping = np.full(len(q), 1e-6)  # relative to the mean diagonal of J^T J
    active = np.arange(len(q))
    limit = np.broadcast_to(limit, (len(q),))
    for iteration in range(int(limit.max(initial=0))):
        if not active.size:
            break
        fa, ta = fitted[active], target[active]
        jac = fa @ generators  # (P, 3 K): d basis / d delta_0, _1, _2
        delta = _damped_step(jac[:, :k], jac[:, k:2 * k], jac[:, 2 * k:], fa[:, :k] - ta, damping[active])
        angle = np.sqrt(np.einsum("ij,ij->i", delta, delta))
        half = 0.5 * angle
        turn = np.concatenate([np.cos(half)[:, None], (np.sin(half) / np.maximum(angle, 1e-300))[:, None] * delta],
                              axis=-1)
        trial = normalize(multiply(q[active], turn))
        # Taken without a check (the point has converged) when short, and not only short
        # because the damping has grown.
        last = (angle <= _LAST_STEP) & (damping[active] <= 1e-6) | (angle <= _TOLERANCE)
        q[active[last]] = trial[last]
        active, trial = active[~last], trial[~last]
        if not active.size:
            break
        trial_fitted = full(trial)
        trial_residual = trial_fitted[:, :k] - target[active]
        trial_cost = np.einsum("ij,ij->i", trial_residual, trial_residual)
        better = trial_cost < cost[active]
        accepted = active[better]
        q[accepted], fitted[accepted], cost[accepted] = trial[better], trial_fitted[better], trial_cost[better]
        damping[active] = np.where(better, damping[active] * 0.1, damping[active] * 10.0)
        active = active[(damping[active] < 1e6) & (limit[active] > iteration + 1)]
    return q, cost
