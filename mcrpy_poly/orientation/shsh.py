"""Symmetrized hyperspherical harmonics (SHSH): a continuous, symmetry-invariant local state.

For a crystal point group ``G`` the SHSH of principal index ``N`` span the HSH of index
``N`` that are invariant under ``q -> q * s`` (``s`` in ``G``, Mason convention) and under
``q -> -q``. They are built here by the recipe of
``../shared/papers/notes_shsh_conventions.md`` section 5 (Reynolds projection with an
exact S^3 quadrature, then deterministic Gram-Schmidt in HSH index order, pivot
coefficient positive), which reproduces the published Mason/MCRpy cubic table.

Example
-------
>>> basis = SHSHBasis("m-3m", n_terms=9)          # the 9 cubic functions of N = 8
>>> values = basis(quaternions)                    # (..., 4) orix convention -> (..., 9)
>>> back = basis.to_quaternion(values)             # nearest orientation, fundamental zone
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from functools import cache, cached_property
from pathlib import Path

import numpy as np

from .array_ops import array_ops
from .hsh import hsh, s3_quadrature
from .quaternion import from_axis_angle, multiply, random_uniform, to_mason
from .rotated_harmonics import fit_rotated_form, rotated_harmonic_features
from .symmetry import Symmetry, resolve_symmetry

#: Bump when the construction changes, so stale disk caches are ignored.
_CACHE_FORMAT = 1
#: Largest principal index searched when picking functions by count.
_MAX_DEGREE = 40
#: Orientations per chunk in numpy evaluation.
_CHUNK = 4096


def shsh_dimension(symmetry, N: int) -> int:
    """Number of SHSH of principal index ``N`` (no sample symmetry).

    Character formula ``dim_N = (N + 1) * mean_{s in G} U_N(s0)``, with ``U_N`` the
    Chebyshev polynomial of the second kind and ``s0`` the scalar part of each group
    rotation; odd ``N`` give 0 because SHSH are also invariant under ``q -> -q``.
    """
    if N % 2:
        return 0
    s0 = resolve_symmetry(symmetry).quaternions[:, 0]
    u_prev, u = np.ones_like(s0), 2.0 * s0  # U_0, U_1
    if N == 0:
        u = u_prev
    for _ in range(N - 1):
        u_prev, u = u, 2.0 * s0 * u - u_prev
    return int(round((N + 1) * float(np.mean(u))))


def _cache_dir() -> Path:
    root = os.environ.get("MCRPY_POLY_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "mcrpy_poly")
    return Path(root)


def disk_cached_array(name: str, build, valid=lambda array: True) -> np.ndarray:
    """The array stored as ``name`` in the cache folder (``MCRPY_POLY_CACHE`` or
    ``~/.cache/mcrpy_poly``) when it is there and ``valid``; otherwise ``build()``, stored
    for next time (atomically; an unwritable cache only costs the rebuild)."""
    path = _cache_dir() / name
    try:
        array = np.load(path, allow_pickle=False)
        if not valid(array):
            raise ValueError("stale cache")
        return array
    except (OSError, ValueError):
        array = build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npy", delete=False) as fh:
            np.save(fh, array)
        os.replace(fh.name, path)
    except OSError:
        pass
    return array


def build_coefficients(symmetry: Symmetry, N: int) -> np.ndarray:
    """SHSH coefficients of index ``N``: columns are functions, rows the HSH of index ``N``.

    Reynolds projector ``P = mean_s B^T W Z_N(x * s)`` on the exact quadrature
    (``P`` is an orthogonal projector), then Gram-Schmidt (twice, for round-off) of
    ``P e_k`` in HSH index order, keeping residuals above ``1e-8`` and making the
    coefficient of ``e_k`` positive.

    Returns
    -------
    numpy.ndarray, shape ((N + 1)^2, shsh_dimension(symmetry, N))
    """
    n_hsh = (N + 1) ** 2
    if N % 2:
        return np.zeros((n_hsh, 0))
    x, w = s3_quadrature(N)
    # One evaluation at all points x * s, averaged over the group, then one product.
    averaged = hsh(multiply(x[None, :, :], symmetry.quaternions[:, None, :]), N).mean(axis=0)
    proj = (hsh(x, N) * w[:, None]).T @ averaged
    basis = []
    for k in range(n_hsh):
        r = proj[:, k].copy()
        for _ in range(2):
            for v in basis:
                r -= (v @ r) * v
        norm = np.linalg.norm(r)
        if norm > 1e-8:
            r /= norm
            basis.append(r if r[k] > 0 else -r)
    return np.stack(basis, axis=1) if basis else np.zeros((n_hsh, 0))


@cache
def coefficients(symmetry_name: str, N: int) -> np.ndarray:
    """Cached :func:`build_coefficients` (in memory, and on disk under ``MCRPY_POLY_CACHE``
    or ``~/.cache/mcrpy_poly``). The array is read-only."""
    symmetry = resolve_symmetry(symmetry_name)
    tag = hashlib.sha1(np.round(symmetry.quaternions, 12).tobytes()).hexdigest()[:10]
    name = f"shsh_v{_CACHE_FORMAT}_{symmetry.name.replace('/', '_')}_{tag}_N{N}.npy"
    coef = disk_cached_array(name, lambda: build_coefficients(symmetry, N),
                             valid=lambda a: a.shape[0] == (N + 1) ** 2)
    coef.setflags(write=False)
    return coef


def _lowest_degrees(symmetry: Symmetry, wanted: int) -> list:
    """The lowest principal indices ``N >= 2`` with at least ``wanted`` functions in all."""
    degrees, total = [], 0
    for N in range(2, _MAX_DEGREE + 1, 2):
        dim = shsh_dimension(symmetry, N)
        if dim:
            degrees.append(N)
            total += dim
        if total >= wanted:
            break
    return degrees


def _labels(symmetry: Symmetry, degrees) -> list:
    return [(int(N), k + 1) for N in sorted(set(degrees)) for k in range(shsh_dimension(symmetry, N))]


def _sees_turns(basis: SHSHBasis, n_orientations: int = 32, angles=(0.3, 0.7)) -> bool:
    """Whether the functions change when random orientations are turned about each crystal
    axis by ``angles`` (rad; none of them a symmetry turn, which is a multiple of 60 or 90 deg)."""
    q = random_uniform((n_orientations,), np.random.default_rng(0))
    values = basis.hsh_form(q)
    for axis in np.eye(3):
        for angle in angles:
            turned = basis.hsh_form(multiply(from_axis_angle(axis, angle), q))  # crystal frame: left factor
            if np.linalg.norm(turned - values, axis=-1).min() < 1e-3:
                return False
    return True


def _rotation_rank(basis: SHSHBasis, n_orientations: int = 16, step: float = 1e-4) -> int:
    """Least rank, over random orientations, of the derivative of the functions along the
    three rotation generators: 3 when they see every small turn."""
    q = random_uniform((n_orientations,), np.random.default_rng(0))
    columns = []
    for axis in range(3):
        turn = np.zeros(4)
        turn[0], turn[axis + 1] = np.cos(step / 2), np.sin(step / 2)
        columns.append(basis.hsh_form(multiply(q, turn)) - basis.hsh_form(multiply(q, turn * [1, -1, -1, -1])))
    singular = np.linalg.svd(np.stack(columns, axis=-1), compute_uv=False)
    return int(np.min(np.sum(singular > 1e-6 * singular[:, :1], axis=1)))


@cache
def _default_selection(symmetry_name: str) -> tuple:
    """Default ``(degrees, n_terms)``: the lowest degrees with at least 9 functions, extended
    function by function (degree order) until they fix whole orientations, not only an axis:

    1. until they see every small turn (:func:`_rotation_rank` is 3), then by two functions
       more, so that the angle about the newly seen axis is fixed and not only its cosine;
    2. until they change under finite turns about each crystal axis (:func:`_sees_turns`).

    The extension matters for the groups with a 4- or 6-fold axis and no other axis of order
    > 2 (4, 6, 622): their functions of degree ``l = N/2 < n`` (``n`` the order of the main
    axis) are blind to turns about it. Recovery of random orientations by
    :meth:`SHSHBasis.to_quaternion` is measured in benchmarks/RESULTS.md (622: the first 14
    functions 3 % within 1 deg, the default 17: 99 %). Cached per point group.
    """
    symmetry = resolve_symmetry(symmetry_name)
    degrees = _lowest_degrees(symmetry, 9)
    first = n_terms = sum(shsh_dimension(symmetry, N) for N in degrees)
    seen = None  # functions needed to see every small turn, plus two
    while True:
        labels = _labels(symmetry, degrees)
        for k in range(n_terms, len(labels) + 1):
            candidate = SHSHBasis(symmetry, degrees=degrees, n_terms=k)
            if seen is None and _rotation_rank(candidate) == 3:
                seen = k if k == first else k + 2
            if seen is not None and k >= seen and _sees_turns(candidate):
                return tuple(degrees), k
        n_terms = len(labels)
        higher = [N for N in range(degrees[-1] + 2, _MAX_DEGREE + 1, 2) if shsh_dimension(symmetry, N)]
        if not higher:
            raise ValueError(f"no SHSH functions up to N = {_MAX_DEGREE} fix orientations of {symmetry.name}")
        degrees = degrees + higher[:1]


class SHSHBasis:
    """A set of SHSH functions for one crystal symmetry, evaluated on orix quaternions.

    Parameters
    ----------
    symmetry : str or orix Symmetry or Symmetry
        Crystal point group; improper and Laue groups are mapped to their proper subgroup.
    degrees : sequence of int, optional
        Principal indices ``N`` whose functions are all included (``0`` gives the constant).
    n_terms : int, optional
        Take the first ``n_terms`` functions in degree order (``N >= 2``; within a degree
        in Gram-Schmidt order). Cubic: 9 is all of ``N = 8``, 22 is ``N = 8`` and ``12``;
        hexagonal: 5 is ``N = 4``, 14 is ``N = 4`` and ``8``. With ``degrees`` as well, it
        truncates those degrees.

    Without either, the lowest non-trivial degrees with at least 9 functions in all, extended
    where needed so that the functions determine the orientation (:func:`_default_selection`):
    cubic 9 (``N = 8``), hexagonal 622: 17 (``N = 4, 8`` and 3 of ``N = 12``).

    Attributes
    ----------
    symmetry : Symmetry
    degrees : tuple of int
        The principal indices that contribute.
    labels : list of (int, int)
        ``(N, k)`` of each function, ``k`` counted from 1 as in the published tables.
    n_terms : int
        Number of functions K (channels of an SHSH field).

    Notes
    -----
    Injectivity of ``q -> basis(q)`` (modulo the crystal symmetry) depends on the degrees.
    The cubic functions of ``N = 8`` (K = 9) already determine the orientation: the
    degree-4 cubic harmonic has the octahedral group as its stabiliser. Hexagonal
    ``N = 4`` and ``8`` (K = 5, 14) do **not**: a 6-fold-invariant harmonic of degree
    ``l = N/2 < 6`` is invariant under every rotation about the c-axis, so these
    functions fix the c-axis direction only; ``N = 12`` (K = 40) is needed for the full
    orientation, which is why the default hexagonal basis reaches into ``N = 12``.
    :meth:`to_quaternion` returns one of the equivalent orientations.
    Measured recovery rates are in ``benchmarks/RESULTS.md``.
    """

    def __init__(self, symmetry, degrees=None, n_terms=None):
        self.symmetry = resolve_symmetry(symmetry)
        if n_terms is not None and int(n_terms) < 1:
            raise ValueError(f"n_terms must be positive, got {n_terms}")
        if degrees is None and n_terms is None:
            degrees, n_terms = _default_selection(self.symmetry.name)
        elif degrees is None:
            degrees = _lowest_degrees(self.symmetry, int(n_terms))
        labels = _labels(self.symmetry, degrees)
        if n_terms is not None:
            if int(n_terms) > len(labels):
                raise ValueError(f"only {len(labels)} SHSH functions in degrees {tuple(degrees)} "
                                 f"for symmetry {self.symmetry.name}, asked for {n_terms}")
            labels = labels[: int(n_terms)]
        if not labels:
            raise ValueError(f"no SHSH functions of symmetry {self.symmetry.name} in degrees {tuple(degrees)}")
        self.labels = labels
        self.degrees = tuple(sorted({N for N, _ in labels}))

    @property
    def n_terms(self) -> int:
        return len(self.labels)

    def first(self, n_terms: int) -> SHSHBasis:
        """The basis of this one's first ``n_terms`` functions (lowest degrees first)."""
        return SHSHBasis(self.symmetry, degrees=self.degrees, n_terms=n_terms)

    @cached_property
    def fixes_orientation(self) -> bool:
        """Whether the functions see every small turn and change under finite turns about each
        crystal axis (checked at fixed random orientations; see :func:`_default_selection`)."""
        return _rotation_rank(self) == 3 and _sees_turns(self)

    def __len__(self):
        return self.n_terms

    def __repr__(self):
        return f"SHSHBasis({self.symmetry.name!r}, degrees={self.degrees}, n_terms={self.n_terms})"

    def coefficients(self, N: int) -> np.ndarray:
        """Coefficients of the used functions of index ``N`` on the ``(N+1)^2`` HSH, shape
        ``((N + 1)^2, k)``, rows ordered as :func:`~mcrpy_poly.orientation.hsh.hsh_indices`."""
        ks = [k - 1 for n, k in self.labels if n == N]
        return coefficients(self.symmetry.name, N)[:, ks]

    def hsh_form(self, q) -> np.ndarray:
        """The definition: ``Z_N(conj(q)) @ coefficients`` through all HSH of each degree.

        Slower than :meth:`__call__` (which uses the equivalent rotated-harmonic form of
        :mod:`~mcrpy_poly.orientation.rotated_harmonics`); kept as the reference.
        """
        q = np.asarray(q, dtype=np.float64)
        q = q / np.linalg.norm(q, axis=-1, keepdims=True)
        mason = np.stack(to_mason(q), axis=-1)
        return np.concatenate([hsh(mason, N) @ self.coefficients(N) for N in self.degrees], axis=-1)

    @cached_property
    def _blocks(self):
        """Per degree: ``(directions, labels, weights)`` of the rotated-harmonic form."""
        blocks = []
        for N in self.degrees:
            cols = [j for j, (n, _) in enumerate(self.labels) if n == N]
            blocks.append(fit_rotated_form(self.symmetry, N, self.coefficients(N),
                                           lambda x, cols=cols: self.hsh_form(x)[:, cols]))
        return tuple(blocks)

    def evaluate(self, q, ops):
        """Evaluate on orix quaternions with an array library given as ``ops``.

        ``ops`` is a namespace from :func:`~mcrpy_poly.orientation.array_ops.array_ops`.
        Quaternions are normalised first, so any non-zero 4-vector is accepted.
        """
        shape = tuple(q.shape[:-1])
        flat = ops.reshape(q, (-1, 4))
        flat = flat / ops.sqrt(ops.sum(flat * flat, axis=-1, keepdims=True))
        out = []
        for directions, labels, weights in self._blocks:
            features = ops.concatenate(rotated_harmonic_features(flat, directions, labels, ops), axis=-1)
            out.append(ops.matmul(features, ops.cast(weights, features.dtype)))
        values = out[0] if len(out) == 1 else ops.concatenate(out, axis=-1)
        return ops.reshape(values, shape + (self.n_terms,))

    def __call__(self, q) -> np.ndarray:
        """SHSH values of orix-convention quaternions, ``(..., 4) -> (..., K)``, float64.

        Large inputs are evaluated in chunks of 4096 orientations, which keeps the
        intermediate features in cache (about twice as fast for a 256 x 256 map)."""
        q = np.asarray(q, dtype=np.float64)
        flat = q.reshape(-1, 4)
        chunks = [self.evaluate(flat[i:i + _CHUNK], array_ops("numpy")) for i in range(0, len(flat), _CHUNK)]
        values = chunks[0] if len(chunks) == 1 else np.concatenate(chunks)
        return values.reshape(q.shape[:-1] + (self.n_terms,))

    def tf(self, q):
        """TensorFlow version of :meth:`__call__` (differentiable; float64 in, float64 out)."""
        ops = array_ops("tensorflow")
        return self.evaluate(ops.convert(q), ops)

    def keras(self, q):
        """``keras.ops`` version of :meth:`__call__`, for any Keras backend (TF, JAX, torch)."""
        ops = array_ops("keras")
        return self.evaluate(ops.convert(q), ops)

    def to_quaternion(self, values, resolution: float = 3.0, refine_steps: int = 24):
        """Orientation (orix convention, fundamental zone) whose SHSH vector is nearest.

        Nearest neighbour on a fundamental-zone point set of ``resolution`` degrees, then at
        most ``refine_steps`` Levenberg-Marquardt iterations on ``||basis(q) - values||^2`` in
        the tangent space; each distinct vector is solved once.
        See :mod:`mcrpy_poly.orientation.inverse`.

        Parameters
        ----------
        values : array_like, shape (..., K)

        Returns
        -------
        numpy.ndarray, shape (..., 4)
        """
        from .inverse import nearest_orientation

        return nearest_orientation(self, values, resolution=resolution, refine_steps=refine_steps)
