"""Unit-quaternion arithmetic on plain arrays, and the one place that fixes the convention.

Convention
----------
Every quaternion array in mcrpy-poly is stored in **orix's convention**: passive
(sample -> crystal), scalar first ``(w, x, y, z)``, crystal symmetry acting on the
**left** (``s * o`` is equivalent to ``o``). The hyperspherical-harmonic tables of
Mason (and MCRpy) use the active convention with symmetry acting on the right;
:func:`to_mason` converts, and the SHSH code calls it and nothing else.
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
