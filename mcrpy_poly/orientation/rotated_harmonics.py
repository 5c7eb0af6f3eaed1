"""Fast evaluation of SHSH as rotated crystal harmonics.

The SHSH of principal index ``N = 2l`` span the functions ``o -> D^l(o) c`` with ``c`` a
crystal-invariant vector of degree-``l`` spherical harmonics (notes_shsh_conventions.md
section 3). Such functions are reached more cheaply than through all ``(N + 1)^2`` HSH:
for fixed sample directions ``x_p`` (``p = 1 .. 2l + 1``), the values ``Y_{l,m}(R(o) x_p)``
of the spherical harmonics ``m`` that occur in crystal-invariant harmonics (``m = 0, 4`` for
cubic, ``m = 0, 6`` for hexagonal, ...) span the SHSH space, so

    SHSH_N(o) = F(o) @ W,    F(o)[(p, m)] = Y_{l,m}(R(o) x_p),

where ``R(o)`` is the rotation matrix of the orix quaternion ``o`` (crystal coordinates of
sample vectors) and ``W`` is fitted once, exactly, against the HSH definition on an exact
S^3 quadrature (residual checked). ``R`` is quadratic in the quaternion components and
``Y`` polynomial, so this stays a polynomial in ``q`` with finite gradients everywhere.
For cubic K = 22 it needs 44 features instead of 237 HSH terms.
"""
from __future__ import annotations

import numpy as np

from .hsh import s3_quadrature, solid_harmonics, spherical_harmonic_constant, spherical_harmonic_indices
from .quaternion import multiply

#: Largest allowed misfit of the rotated-harmonic form against the HSH form.
_FIT_TOLERANCE = 1e-9


def rotation_matrix_columns(w, x, y, z):
    """The nine entries ``R[i][j]`` (row-major list) of the rotation matrix of unit
    quaternions ``(w, x, y, z)`` in orix convention: ``R @ v_sample = v_crystal``."""
    ww, xx, yy, zz = w * w, x * x, y * y, z * z
    wx, wy, wz, xy, xz, yz = w * x, w * y, w * z, x * y, x * z, y * z
    return [ww + xx - yy - zz, 2.0 * (xy - wz), 2.0 * (xz + wy),
            2.0 * (xy + wz), ww - xx + yy - zz, 2.0 * (yz - wx),
            2.0 * (xz - wy), 2.0 * (yz + wx), ww - xx - yy + zz]


def invariant_harmonics(symmetry, degree: int) -> np.ndarray:
    """Orthonormal basis of the real spherical harmonics of ``degree`` invariant under the
    crystal rotations (``h(R_s y) = h(y)``), shape ``(2l + 1, mult)``, rows ordered as
    :func:`~mcrpy_poly.orientation.hsh.spherical_harmonic_indices`."""
    points = _fibonacci_sphere(4 * (2 * degree + 1))
    values = _harmonics(degree, points)
    reynolds = np.zeros((2 * degree + 1, 2 * degree + 1))
    for s in symmetry.quaternions:
        rotated = points @ _rotation_matrix(s).T
        reynolds += np.linalg.lstsq(values, _harmonics(degree, rotated), rcond=None)[0]
    reynolds /= symmetry.order
    u, sing, _ = np.linalg.svd(reynolds)
    return u[:, sing > 0.5]


def fit_rotated_form(symmetry, N: int, coefficients: np.ndarray, hsh_values):
    """Fit ``W`` so that ``F(o) @ W`` equals the SHSH of index ``N``.

    Parameters
    ----------
    symmetry : Symmetry
    N : int
        Even principal index.
    coefficients : numpy.ndarray, shape ((N + 1)^2, k)
        The SHSH in HSH form (columns), as built by the Reynolds/Gram-Schmidt recipe.
    hsh_values : callable
        ``hsh_values(q_orix (n, 4)) -> (n, k)``, the SHSH by the HSH definition.

    Returns
    -------
    directions : numpy.ndarray, shape (P, 3)
        Sample directions ``x_p``.
    labels : tuple of (l, M, is_sine)
        Spherical harmonics in the support of the invariant harmonics.
    weights : numpy.ndarray, shape (P * len(labels), k)
        Normalisation constants included; rows ordered label-major (all ``p`` of the first
        label, then the next label).
    """
    degree = N // 2
    invariant = invariant_harmonics(symmetry, degree)
    all_labels = spherical_harmonic_indices(degree)
    labels = tuple(lab for lab, row in zip(all_labels, invariant) if np.any(np.abs(row) > 1e-10))
    directions = _sample_directions(degree)
    x, _ = s3_quadrature(N)
    x = multiply(x, [0.9, 0.1, 0.3, 0.3] / np.linalg.norm([0.9, 0.1, 0.3, 0.3]))  # avoid symmetric nodes
    features = np.concatenate(rotated_harmonic_features(x, directions, labels, np), axis=-1)
    target = hsh_values(x)
    weights, *_ = np.linalg.lstsq(features, target, rcond=None)
    misfit = np.abs(features @ weights - target).max()
    if misfit > _FIT_TOLERANCE:
        raise RuntimeError(f"rotated-harmonic form of the {symmetry.name} SHSH at N = {N} misfits by {misfit:.2e}")
    return directions, labels, weights


def rotated_harmonic_features(q, directions, labels, ops):
    """``Y_{l,m}(R(q) x_p)`` (unnormalised) for unit quaternions ``q`` ``(n, 4)``.

    Returns a list with one array ``(n, P)`` per label; ``ops`` is an array-ops namespace
    (or the numpy module).
    """
    entries = rotation_matrix_columns(q[:, 0], q[:, 1], q[:, 2], q[:, 3])
    flat = ops.stack(entries, axis=-1)  # (n, 9), row-major R
    # Crystal coordinates y_i = sum_j R_ij x_j for every direction: one matmul per component.
    d = np.asarray(directions, dtype=float)
    cast = getattr(ops, "cast", None)
    comps = []
    for i in range(3):
        block = np.zeros((9, len(d)))
        block[3 * i:3 * i + 3] = d.T
        comps.append(ops.matmul(flat, cast(block, flat.dtype) if cast else block))
    return solid_harmonics(comps[0], comps[1], comps[2], 1.0, labels)


def _sample_directions(degree: int) -> np.ndarray:
    """The fewest spiral directions (at least ``2l + 1``) on which the normalised
    harmonics of ``degree`` are well conditioned (condition number below 30)."""
    for n in range(2 * degree + 1, 8 * (2 * degree + 1)):
        points = _fibonacci_sphere(n)
        if np.linalg.cond(_harmonics(degree, points)) < 30:
            return points
    raise RuntimeError(f"no well-conditioned direction set for degree {degree}")


def _harmonics(degree: int, points) -> np.ndarray:
    """Orthonormal real spherical harmonics of ``degree`` at unit vectors, ``(n, 3) -> (n, 2 degree + 1)``."""
    labels = spherical_harmonic_indices(degree)
    const = np.array([spherical_harmonic_constant(L, M) for L, M, _ in labels])
    return np.stack(solid_harmonics(*np.asarray(points).T, 1.0, labels), axis=-1) * const


def _rotation_matrix(q) -> np.ndarray:
    return np.array(rotation_matrix_columns(*np.asarray(q, dtype=float))).reshape(3, 3)


def _fibonacci_sphere(n: int) -> np.ndarray:
    """``n`` well-spread unit vectors (golden-angle spiral), tilted off the crystal axes."""
    i = np.arange(n) + 0.5
    z = 1.0 - 2.0 * i / n
    phi = np.pi * (1.0 + np.sqrt(5.0)) * i
    r = np.sqrt(1.0 - z * z)
    points = np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=-1)
    tilt = _rotation_matrix(np.array([0.95, 0.2, 0.15, 0.1]) / np.linalg.norm([0.95, 0.2, 0.15, 0.1]))
    return points @ tilt.T
