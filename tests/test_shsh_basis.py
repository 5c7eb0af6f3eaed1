"""SHSH bases against independent references: character formula, published table, quadrature."""
import json

import numpy as np
import pytest

from mcrpy_poly import SHSHBasis, shsh_dimension
from mcrpy_poly.orientation.hsh import hsh, hsh_indices, s3_quadrature
from mcrpy_poly.orientation.quaternion import conjugate, multiply, random_uniform
from mcrpy_poly.orientation.shsh import build_coefficients, coefficients
from mcrpy_poly.orientation.symmetry import PROPER_POINT_GROUPS, resolve_symmetry

GROUP_ORDER = {"1": 1, "2": 2, "222": 4, "3": 3, "32": 6, "4": 4, "422": 8, "6": 6, "622": 12, "23": 12, "432": 24}


def test_all_proper_groups_resolve_with_their_order():
    for name, order in GROUP_ORDER.items():
        assert resolve_symmetry(name).order == order
    assert set(GROUP_ORDER) == set(PROPER_POINT_GROUPS)


@pytest.mark.parametrize("given, proper", [("m-3m", "432"), ("Oh", "432"), ("6/mmm", "622"), ("-3m", "32"),
                                           ("mmm", "222"), ("4/m", "4"), ("m-3", "23"), ("-1", "1"),
                                           ("cubic", "432"), ("hexagonal", "622")])
def test_laue_and_improper_groups_map_to_proper_subgroup(given, proper):
    assert resolve_symmetry(given).name == proper


def test_orix_symmetry_objects_are_accepted():
    from orix.quaternion.symmetry import D6h, Oh
    assert resolve_symmetry(Oh).name == "432"
    assert SHSHBasis(D6h).symmetry.name == "622"


def test_dimension_formula_published_counts():
    # notes_shsh_conventions.md section 4 (432 and 622 rows).
    cubic = {0: 1, 8: 9, 12: 13, 16: 17}
    for N in range(17):
        assert shsh_dimension("432", N) == cubic.get(N, 0)
    assert [shsh_dimension("622", N) for N in (4, 8, 12)] == [5, 9, 26]
    assert shsh_dimension("1", 12) == 169


@pytest.mark.parametrize("group", list(GROUP_ORDER))
def test_numerical_rank_equals_formula_up_to_12(group):
    """Independent check: rank of group-averaged HSH at random points (no Gram-Schmidt)."""
    sym = resolve_symmetry(group)
    rng = np.random.default_rng(3)
    for N in range(0, 13, 2):
        x = random_uniform(3 * (N + 1) ** 2, rng)
        averaged = np.mean([hsh(multiply(x, s), N) for s in sym.quaternions], axis=0)
        singular = np.linalg.svd(averaged, compute_uv=False)
        rank = int(np.sum(singular > 1e-8))  # HSH values are O(1); round-off is ~1e-14
        assert rank == shsh_dimension(group, N), (group, N)
        assert build_coefficients(sym, N).shape[1] == rank


def test_cubic_basis_reproduces_published_table(cubic_table_path):
    table = json.loads(cubic_table_path.read_text())
    for N in (8, 12):
        index = {label: i for i, label in enumerate(hsh_indices(N))}
        ours = coefficients("432", N)
        ref = np.zeros_like(ours)
        for k in range(ours.shape[1]):
            for coef, L, M, is_sine in table[f"{N},{k + 1}"]:
                ref[index[(L, M, bool(is_sine))], k] = coef
        assert ours.shape == ((N + 1) ** 2, sum(key.startswith(f"{N},") for key in table))
        np.testing.assert_allclose(ours, ref, atol=1e-10, rtol=0)


@pytest.mark.parametrize("group, n_terms", [("432", 22), ("622", 40), ("23", 10), ("422", 12), ("32", 12),
                                            ("2", 9), ("1", 9)])
def test_invariance_under_symmetry_and_antipode(group, n_terms):
    basis = SHSHBasis(group, n_terms=n_terms)
    q = random_uniform(500, rng=7)
    values = basis(q)
    for s in basis.symmetry.quaternions:  # orix convention: symmetry acts on the left
        np.testing.assert_allclose(basis(multiply(s, q)), values, atol=1e-10, rtol=0)
    np.testing.assert_allclose(basis(-q), values, atol=1e-10, rtol=0)


def test_raw_convention_would_not_be_invariant():
    """Guards the conjugation: with symmetry on the right of orix quaternions values change."""
    basis = SHSHBasis("432", n_terms=9)
    q = random_uniform(200, rng=2)
    s = basis.symmetry.quaternions[5]
    assert np.abs(basis(multiply(q, s)) - basis(q)).max() > 0.1


def test_invariance_on_real_map(sdss_path):
    import warnings

    from orix.io import load

    from mcrpy_poly import load_ebsd
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        omap = load_ebsd(sdss_path, phase="austenite")
        xmap = load(str(sdss_path))
    basis = SHSHBasis("m-3m", n_terms=22)
    q = omap.quaternions[omap.indexed]
    # Equivalent orientations computed by orix itself (symmetry applied by orix's Orientation).
    from orix.quaternion import Orientation
    ori = Orientation(xmap["austenite/austenite"].rotations.data, symmetry=xmap.phases[1].point_group)
    rng = np.random.default_rng(0)
    ops = basis.symmetry.to_orix()
    pick = rng.integers(0, ops.size, len(q))
    equivalent = (ops[pick] * ori).data
    np.testing.assert_allclose(basis(equivalent), basis(q), atol=1e-10, rtol=0)
    np.testing.assert_allclose(basis(-equivalent), basis(q), atol=1e-10, rtol=0)
    reduced = ori.reduce().data
    np.testing.assert_allclose(basis(reduced), basis(q), atol=1e-10, rtol=0)
    # Regression value from notes_shsh_conventions.md section 7 (whole map, both phases; 3 decimals). Those
    # means were taken in another sample frame: a sample rotation mixes the 9 functions of N = 8 by an orthogonal
    # matrix (the l = 4 Wigner D), so only their norm is frame-independent, and it must agree.
    means = SHSHBasis("432", n_terms=9)(xmap.rotations.data).mean(axis=0)
    published = [-0.008, 0.04, -0.051, 0.069, 0.012, 0.001, 0.006, 0.003, 0.048]
    assert abs(np.linalg.norm(means) - np.linalg.norm(published)) < 2e-3


@pytest.mark.parametrize("group", ["432", "622", "222"])
def test_orthonormal_on_s3(group):
    basis = SHSHBasis(group, degrees=(0, 4, 8, 12))
    x, w = s3_quadrature(24)  # exact for products of degree <= 24
    values = basis(conjugate(x))  # basis takes orix quaternions; any rotation of the grid is fine
    gram = (values * w[:, None]).T @ values
    np.testing.assert_allclose(gram, np.eye(basis.n_terms), atol=1e-10)


def test_n_terms_picks_functions_in_degree_order():
    assert SHSHBasis("432", n_terms=9).degrees == (8,)
    assert SHSHBasis("432", n_terms=22).degrees == (8, 12)
    assert SHSHBasis("622", n_terms=5).degrees == (4,)
    assert SHSHBasis("622", n_terms=14).degrees == (4, 8)
    assert SHSHBasis("432").n_terms == 9
    assert SHSHBasis("622").labels[-2:] == [(12, 12), (12, 13)]  # default: N = 4, 8 and the twist block of 12
    partial = SHSHBasis("432", n_terms=12)
    assert partial.labels[-1] == (12, 3)
    with pytest.raises(ValueError, match="only 9"):
        SHSHBasis("432", degrees=(8,), n_terms=10)


def test_tensorflow_matches_numpy_and_gradients_are_finite():
    tf = pytest.importorskip("tensorflow")
    basis = SHSHBasis("432", n_terms=22)
    q = np.concatenate([np.eye(4), random_uniform(50, rng=4)])
    np.testing.assert_allclose(basis.tf(tf.constant(q)).numpy(), basis(q), atol=1e-12, rtol=0)
    weights = np.random.default_rng(1).standard_normal((len(q), basis.n_terms))
    x = tf.Variable(q)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(basis.tf(x) * weights)
    grad = tape.gradient(loss, x).numpy()
    assert np.all(np.isfinite(grad))

    def f(qq):
        return np.sum(basis(qq) * weights)

    h = 1e-6
    fd = np.zeros_like(q)
    for i in range(len(q)):
        for j in range(4):
            plus, minus = q.copy(), q.copy()
            plus[i, j] += h
            minus[i, j] -= h
            fd[i, j] = (f(plus) - f(minus)) / (2 * h)
    np.testing.assert_allclose(grad, fd, atol=1e-6 * max(1.0, np.abs(fd).max()))


def test_keras_ops_matches_numpy():
    ops = pytest.importorskip("keras").ops
    basis = SHSHBasis("622", n_terms=14)
    q = random_uniform(20, rng=5)
    np.testing.assert_allclose(np.asarray(basis.keras(ops.convert_to_tensor(q))), basis(q), atol=1e-12)


def test_disk_cache_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv("MCRPY_POLY_CACHE", str(tmp_path))
    coefficients.cache_clear()
    first = coefficients("622", 8).copy()
    assert any(tmp_path.glob("*N8.npy"))
    coefficients.cache_clear()
    np.testing.assert_array_equal(coefficients("622", 8), first)
    coefficients.cache_clear()


@pytest.mark.parametrize("group", list(GROUP_ORDER))
def test_fast_rotated_form_equals_hsh_definition(group):
    """SHSHBasis evaluates through rotated crystal harmonics; the HSH sum is the definition."""
    basis = SHSHBasis(group, degrees=(2, 4, 6, 8, 12) if group != "1" else (2, 4))
    q = random_uniform(300, rng=9)
    np.testing.assert_allclose(basis(q), basis.hsh_form(q), atol=1e-10, rtol=0)


@pytest.mark.parametrize("on_sphere", [False, True])
def test_solid_harmonics_match_scipy_legendre(on_sphere):
    """T_L^M(z, 1) (1 - z^2)^(M/2) cos(M phi) is the associated Legendre function without the
    Condon-Shortley phase, (-1)^M scipy.special.lpmv(M, L, z), times cos(M phi)."""
    from scipy.special import lpmv

    from mcrpy_poly.orientation.hsh import solid_harmonics
    rng = np.random.default_rng(11)
    theta, phi = np.arccos(rng.uniform(-1, 1, 50)), rng.uniform(0, 2 * np.pi, 50)
    x, y, z = np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)
    labels = [(L, M, s) for L in range(13) for M in range(L + 1) for s in (False, True)]
    values = solid_harmonics(x, y, z, 1.0 if on_sphere else x * x + y * y + z * z, labels)
    for (L, M, is_sine), value in zip(labels, values):
        angular = np.sin(M * phi) if is_sine else np.cos(M * phi)
        reference = (-1) ** M * lpmv(M, L, z) * angular
        np.testing.assert_allclose(value, reference, rtol=0, atol=1e-12 * np.abs(reference).max())


def _sample_turned(q, angle=0.9, axis=(0.3, -0.5, 0.8)):
    """The same orientations seen from a turned sample frame (orix: a right factor)."""
    from mcrpy_poly.orientation.quaternion import from_axis_angle

    return multiply(q, from_axis_angle(np.asarray(axis), angle))


def test_hexagonal_n12_splits_into_a_twist_block_and_an_axial_block():
    from mcrpy_poly.orientation.quaternion import from_axis_angle
    from mcrpy_poly.orientation.shsh import twist_dimension

    assert (shsh_dimension("622", 12), twist_dimension("622", 12)) == (26, 13)
    assert twist_dimension("622", 8) == 0 and twist_dimension("432", 12) == 13  # cubic: no axial functions
    basis = SHSHBasis("622", degrees=(12,))
    q = random_uniform(200, rng=11)
    twisted = multiply(from_axis_angle(np.array([0.0, 0.0, 1.0]), 0.4), q)  # crystal c-axis: left factor
    values, turned = basis(q), basis(twisted)
    np.testing.assert_allclose(turned[:, 13:], values[:, 13:], atol=1e-10)  # axial: the c-axis alone
    assert np.abs(turned[:, :13] - values[:, :13]).max() > 0.1
    # Each block is mapped onto itself by a sample rotation: the turned values are an orthogonal
    # transformation of the block's own values (least squares fit, exact).
    for block in (slice(0, 13), slice(13, 26)):
        before, after = values[:, block], basis(_sample_turned(q))[:, block]
        matrix, *_ = np.linalg.lstsq(before, after, rcond=None)
        np.testing.assert_allclose(before @ matrix, after, atol=1e-9)
        np.testing.assert_allclose(matrix.T @ matrix, np.eye(13), atol=1e-8)


def test_default_hexagonal_basis_sees_twists_equally_in_every_grain():
    # Reference: all 26 functions of N = 12 (a complete degree: distances depend on the misorientation only).
    from mcrpy_poly.orientation.quaternion import from_axis_angle

    q = random_uniform(500, rng=12)
    step = 1e-4
    plus = multiply(from_axis_angle(np.array([0.0, 0.0, 1.0]), step), q)
    minus = multiply(from_axis_angle(np.array([0.0, 0.0, 1.0]), -step), q)

    def sensitivity(basis):
        return np.linalg.norm(basis(plus) - basis(minus), axis=-1) / (2 * step)

    default = SHSHBasis("622")
    assert default.n_terms == 27 and default.fixes_orientation
    reference = sensitivity(SHSHBasis("622", degrees=(12,)))
    np.testing.assert_allclose(reference, reference[0], rtol=1e-6)
    np.testing.assert_allclose(sensitivity(default), reference, rtol=1e-6)
    # The first 3 functions of N = 12 (the default before) see some twists 30 times less than others.
    partial = sensitivity(SHSHBasis("622", n_terms=17))
    assert partial.min() < partial.max() / 30
