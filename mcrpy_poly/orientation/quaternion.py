"""Unit-quaternion arithmetic on plain arrays, and the one place that fixes the convention.

Convention
----------
Every quaternion array in mcrpy-poly is stored in **orix's convention**: passive
(sample -> crystal), scalar first ``(w, x, y, z)``, crystal symmetry acting on the
**left** (``s * o`` is equivalent to ``o``). The hyperspherical-harmonic tables of
Mason (and MCRpy) use the active convention with symmetry acting on the right;
:func:`to_mason` converts, and the SHSH code calls it and nothing else. The solver
exporters convert here too: :func:`to_damask` (DAMASK's quaternions) and
:func:`to_bunge_euler` (Bunge Euler angles: ``.vti``, DREAM.3D, the Abaqus UMAT table).
Because ``conj(s * o) = conj(o) * conj(s)``, the left action on orix quaternions
becomes a right action on ``conj(q)`` (``../shared/papers/notes_shsh_conventions.md``
section 6).

All functions take arrays of shape ``(..., 4)`` and broadcast over the leading axes.
"""
from __future__ import annotations

import numpy as np


def to_mason(q):
    """Map orix-convention quaternions to Mason's active convention: ``conj(q)``.

    Works on numpy arrays and on backend tensors (TensorFlow, JAX, keras) alike, since
    it only negates components and stacks them back with the array's own ``concat``.

    Parameters
    ----------
    q : array-like, shape (..., 4)

    Returns
    -------
    tuple of four arrays, shape (...)
        ``(w, -x, -y, -z)`` as separate components, ready for polynomial evaluation.
    """
    return q[..., 0], -q[..., 1], -q[..., 2], -q[..., 3]


def to_damask(q):
    """Map orix-convention quaternions to DAMASK's: ``conj(q)``, scalar part made non-negative.

    Both libraries describe an orientation by the same passive rotation matrix (sample ->
    crystal; equal Bunge Euler angles give equal matrices), but DAMASK composes quaternions
    with ``P = -1`` (Rowenhorst et al. 2015) and orix with ``P = +1``, so the same rotation
    has conjugate quaternions. Checked against ``damask.Rotation`` in the tests.

    Parameters
    ----------
    q : array_like, shape (..., 4)

    Returns
    -------
    numpy.ndarray, shape (..., 4)
        ``(w, -x, -y, -z)``, sign chosen so that ``w >= 0`` (DAMASK's hemisphere).
    """
    return normalize(conjugate(q))


def to_bunge_euler(q, degrees: bool = False):
    """Bunge (ZXZ, passive) Euler angles ``(phi1, Phi, phi2)`` of orix-convention quaternions.

    The angles EDAX, DREAM.3D, DAMASK and crystal-plasticity UMATs use: the sample frame is
    rotated by ``phi1`` about Z, ``Phi`` about the new X and ``phi2`` about the new Z onto the
    crystal frame. Rowenhorst et al. (2015) ``qu2eu`` written for orix's components; checked
    against orix's ``to_euler`` and ``damask.Rotation.as_Euler_angles`` in the tests.

    Parameters
    ----------
    q : array_like, shape (..., 4)
    degrees : bool
        Degrees instead of radians.

    Returns
    -------
    numpy.ndarray, shape (..., 3)
        ``phi1`` and ``phi2`` in ``[0, 2 pi)``, ``Phi`` in ``[0, pi]``.
    """
    w, x, y, z = np.moveaxis(normalize(q), -1, 0)
    q03, q12 = w * w + z * z, x * x + y * y
    chi = np.sqrt(q03 * q12)
    degenerate = chi < 1e-12
    safe = np.where(degenerate, 1.0, chi)
    phi1 = np.arctan2((x * z - w * y) / safe, (-w * x - y * z) / safe)
    phi = np.arctan2(2.0 * chi, q03 - q12)
    phi2 = np.arctan2((w * y + x * z) / safe, (y * z - w * x) / safe)
    # Phi = 0 (a rotation about Z) or Phi = pi: only phi1 -+ phi2 is defined; all of it goes to phi1.
    flat, flipped = degenerate & (q12 <= q03), degenerate & (q12 > q03)
    phi1 = np.where(flat, np.arctan2(-2.0 * w * z, w * w - z * z), phi1)
    phi1 = np.where(flipped, np.arctan2(2.0 * x * y, x * x - y * y), phi1)
    phi = np.where(flat, 0.0, np.where(flipped, np.pi, phi))
    phi2 = np.where(degenerate, 0.0, phi2)
    euler = np.stack([np.mod(phi1, 2 * np.pi), phi, np.mod(phi2, 2 * np.pi)], axis=-1)
    return np.degrees(euler) if degrees else euler


def multiply(a, b):
    """Hamilton product ``a * b``, shapes ``(..., 4)`` broadcast together."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    aw, ax, ay, az = np.moveaxis(a, -1, 0)
    bw, bx, by, bz = np.moveaxis(b, -1, 0)
    return np.stack([
        aw * bw - ax * bx - ay * by - az * bz,
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
    ], axis=-1)


def conjugate(q):
    """Quaternion conjugate (the inverse rotation for unit quaternions)."""
    q = np.asarray(q, dtype=float)
    return q * np.array([1.0, -1.0, -1.0, -1.0])


def normalize(q):
    """Scale to unit norm and put the scalar part on the non-negative hemisphere."""
    q = np.asarray(q, dtype=float)
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    return np.where(q[..., :1] < 0, -q, q)


def random_uniform(shape, rng=None):
    """Uniformly distributed (Haar) random unit quaternions of shape ``(*shape, 4)``.

    Parameters
    ----------
    shape : int or tuple of int
    rng : numpy.random.Generator or int or None
        A generator or a seed.
    """
    rng = np.random.default_rng(rng)
    shape = (shape,) if np.isscalar(shape) else tuple(shape)
    return normalize(rng.standard_normal(shape + (4,)))


def from_axis_angle(axis, angle):
    """Quaternions for rotations by ``angle`` (radians) about ``axis`` (``(..., 3)``)."""
    axis = np.asarray(axis, dtype=float)
    axis = axis / np.linalg.norm(axis, axis=-1, keepdims=True)
    half = 0.5 * np.asarray(angle, dtype=float)[..., None]
    return np.concatenate([np.cos(half), np.sin(half) * axis], axis=-1)


def rotation_angle(q):
    """Rotation angle in radians, in ``[0, pi]``, of quaternions ``(..., 4)``."""
    q = np.asarray(q, dtype=float)
    w = np.abs(q[..., 0]) / np.linalg.norm(q, axis=-1)
    return 2.0 * np.arccos(np.clip(w, 0.0, 1.0))


def misorientation_angle(q1, q2, symmetry_quaternions=None):
    """Smallest rotation angle (radians) between orientations, symmetry-aware.

    With crystal symmetry acting on the left (orix convention), the disorientation of
    ``o1`` and ``o2`` is ``min_s angle(o2 * conj(s * o1))``: one loop over the group
    suffices because the angle is invariant under a common left factor.

    Parameters
    ----------
    q1, q2 : array_like, shape (..., 4)
        Orientations in orix convention, broadcast together.
    symmetry_quaternions : array_like, shape (n_ops, 4), optional
        The proper rotations of the crystal point group (``Symmetry.quaternions``).
        Without it the plain rotation angle between the two is returned.

    Returns
    -------
    numpy.ndarray, shape (...)
    """
    q1 = np.asarray(q1, dtype=float)
    q2 = np.asarray(q2, dtype=float)
    if symmetry_quaternions is None:
        symmetry_quaternions = np.array([[1.0, 0.0, 0.0, 0.0]])
    best = np.zeros(np.broadcast_shapes(q1.shape, q2.shape)[:-1])
    for s in np.asarray(symmetry_quaternions, dtype=float):
        # |<s*q1, q2>| is the cosine of half the angle between them.
        best = np.maximum(best, np.abs(np.sum(multiply(s, q1) * q2, axis=-1)))
    norm = np.linalg.norm(q1, axis=-1) * np.linalg.norm(q2, axis=-1)
    return 2.0 * np.arccos(np.clip(best / norm, 0.0, 1.0))
