"""Quaternion arithmetic, fundamental zone, OrientationMap, inverse SHSH map, Voronoi generator."""
import numpy as np
import pytest

from mcrpy_poly import OrientationMap, SHSHBasis
from mcrpy_poly.errors import InputError, SymmetryError
from mcrpy_poly.orientation.quaternion import (
    conjugate,
    from_axis_angle,
    misorientation_angle,
    multiply,
    random_uniform,
    rotation_angle,
)
from mcrpy_poly.orientation.symmetry import PROPER_POINT_GROUPS, reduce_to_fundamental_zone, resolve_symmetry
from mcrpy_poly.synthetic import voronoi


def test_hamilton_product_matches_orix():
    from orix.quaternion import Quaternion
    a, b = random_uniform(20, 0), random_uniform(20, 1)
    np.testing.assert_allclose(multiply(a, b), (Quaternion(a) * Quaternion(b)).data, atol=1e-14)
    np.testing.assert_allclose(multiply(a, conjugate(a)), np.tile([1, 0, 0, 0], (20, 1)), atol=1e-14)


def test_axis_angle_and_rotation_angle():
    q = from_axis_angle([0, 0, 1], np.radians(30))
    np.testing.assert_allclose(q, [np.cos(np.radians(15)), 0, 0, np.sin(np.radians(15))])
    assert np.degrees(rotation_angle(q)) == pytest.approx(30)


def test_misorientation_matches_orix():
    from orix.quaternion import Orientation
    from orix.quaternion.symmetry import O
    a, b = random_uniform(200, 2), random_uniform(200, 3)
    ours = misorientation_angle(a, b, resolve_symmetry("432").quaternions)
    theirs = Orientation(a, O).angle_with(Orientation(b, O))
    np.testing.assert_allclose(ours, theirs, atol=1e-7)
    assert ours.max() <= np.radians(62.81)  # Mackenzie limit for cubic


@pytest.mark.parametrize("group", ["m-3m", "6/mmm", "mmm", "-3m"])
def test_fundamental_zone_matches_orix(group):
    from orix.quaternion import Orientation
    sym = resolve_symmetry(group)
    q = random_uniform(300, 4)
    ours = reduce_to_fundamental_zone(q, sym)
    theirs = Orientation(q, sym.to_orix()).reduce()
    assert np.degrees(Orientation(ours, sym.to_orix()).angle_with(theirs)).max() < 1e-4
    np.testing.assert_allclose(np.abs(ours[:, 0]), np.abs(theirs.data[:, 0]), atol=1e-9)


def test_unknown_symmetry_message():
    with pytest.raises(SymmetryError, match="unknown crystal symmetry 'm-3x'"):
        resolve_symmetry("m-3x")


def test_orientation_map_validates_and_saves(tmp_path):
    with pytest.raises(InputError, match="shape"):
        OrientationMap(np.ones((4, 4)), "m-3m")
    with pytest.raises(InputError, match="zero-length"):
        OrientationMap(np.zeros((2, 2, 4)), "m-3m")
    omap = voronoi((8, 9, 5), 6, "6/mmm", seed=2, step=0.25)
    assert omap.ndim == 3 and omap.step == (0.25, 0.25, 0.25) and omap.point_group == "6/mmm"
    back = OrientationMap.load(omap.save(tmp_path / "m.npz"))
    np.testing.assert_array_equal(back.quaternions, omap.quaternions)
    assert back.point_group == "6/mmm" and back.step == omap.step
    reduced = omap.reduce()
    assert np.degrees(misorientation_angle(reduced.quaternions, omap.quaternions,
                                           omap.symmetry.quaternions)).max() < 1e-6


@pytest.mark.parametrize("group, n_terms", [("432", 9), ("622", 40), ("622", None)])
def test_inverse_map_recovers_orientation_when_injective(group, n_terms):
    basis = SHSHBasis(group, n_terms=n_terms)
    truth = random_uniform(300, 5)
    back = basis.to_quaternion(basis(truth))
    error = np.degrees(misorientation_angle(truth, back, basis.symmetry.quaternions))
    assert np.mean(error < 1.0) > 0.99
    # Output lies in the fundamental zone.
    np.testing.assert_allclose(reduce_to_fundamental_zone(back, basis.symmetry), back, atol=1e-12)


def test_inverse_map_low_hexagonal_degrees_only_fix_c_axis():
    """K = 14 hexagonal functions are invariant under rotations about the crystal c-axis (see SHSHBasis notes)."""
    basis = SHSHBasis("622", n_terms=14)
    truth = random_uniform(200, 6)
    spun = multiply(from_axis_angle([0, 0, 1], 0.3), truth)  # rotate about crystal c (orix: left factor)
    np.testing.assert_allclose(basis(spun), basis(truth), atol=1e-10)
    back = basis.to_quaternion(basis(truth))
    np.testing.assert_allclose(basis(back), basis(truth), atol=1e-8)


@pytest.mark.parametrize("group", PROPER_POINT_GROUPS)
def test_default_basis_sees_rotations_about_every_crystal_axis(group):
    """The default functions change under a turn about crystal x, y and z (the first 14 hexagonal
    ones do not under a turn about c: test above), so a reconstruction fixes whole orientations."""
    basis = SHSHBasis(group)
    truth = random_uniform(50, 7)
    for axis in np.eye(3):
        change = np.linalg.norm(basis(multiply(from_axis_angle(axis, 0.3), truth)) - basis(truth), axis=-1)
        assert change.min() > 1e-6, (group, axis)  # K = 14 hexagonal: 1e-16 about c


def test_inverse_map_projects_noisy_values():
    basis = SHSHBasis("432", n_terms=9)
    truth = random_uniform(200, 8)
    noisy = basis(truth) + 0.01 * np.random.default_rng(0).standard_normal((200, 9))
    error = np.degrees(misorientation_angle(truth, basis.to_quaternion(noisy), basis.symmetry.quaternions))
    assert np.median(error) < 2.0


def test_inverse_map_solves_repeated_vectors_once_with_the_same_result(monkeypatch):
    """A grain map repeats a few vectors: each distinct one is solved once, the result is the
    non-deduplicated one, and repeats get identical orientations."""
    from mcrpy_poly.orientation import inverse

    basis = SHSHBasis("432", n_terms=9)
    rng = np.random.default_rng(3)
    values = basis(random_uniform(40, 11))[rng.integers(0, 40, (24, 24))]
    values[::5, ::3] += 0.02 * rng.standard_normal(values[::5, ::3].shape)  # distinct, off the image
    solved = []
    refine = inverse._refine
    monkeypatch.setattr(inverse, "_refine", lambda basis, target, *a: solved.append(len(target)) or refine(
        basis, target, *a))
    fast = basis.to_quaternion(values)
    flat_values, flat_q = values.reshape(-1, 9), fast.reshape(-1, 4)
    _, first, back = np.unique(flat_values, axis=0, return_index=True, return_inverse=True)
    assert solved[0] == len(first) < 100  # then the noisy ones again from other starts
    np.testing.assert_array_equal(flat_q, flat_q[first][back.ravel()])
    solved.clear()
    reference = inverse.nearest_orientation(basis, values, deduplicate=False)
    assert solved[0] == 24 * 24
    np.testing.assert_allclose(fast, reference, atol=1e-9)


def test_unique_rows_keeps_nan_rows_and_first_occurrence_order():
    from mcrpy_poly.orientation.inverse import _unique_rows

    rng = np.random.default_rng(0)
    a = rng.standard_normal((6, 3))[rng.integers(0, 6, 50)]
    a[[4, 9]] = np.nan
    a[7] = [0.0, 0.0, 0.0]
    a[8] = [-0.0, 0.0, 0.0]  # equal to row 7
    rows, inverse = _unique_rows(a)
    np.testing.assert_array_equal(rows[inverse], a)
    finite = np.isfinite(a).all(axis=1)
    assert len(rows) == len(np.unique(a[finite], axis=0)) + 2  # each NaN row alone
    order = [int(np.flatnonzero((a == row).all(axis=1))[0]) for row in rows if np.isfinite(row).all()]
    assert order == sorted(order) and np.isnan(rows).any(axis=1).sum() == 2
    basis = SHSHBasis("432", n_terms=9)
    assert basis.to_quaternion(np.zeros((0, 9))).shape == (0, 4)
    values = basis(random_uniform(4, 0))
    values[2, 1] = np.nan
    with pytest.raises(ValueError, match="1 of 4 vectors"):
        basis.to_quaternion(values)


def test_inverse_jacobian_of_a_truncated_basis_matches_finite_differences():
    """The default 622 basis takes 17 of the 40 functions of N = 4, 8, 12; its tangent
    derivatives are products of all 40 with fixed matrices."""
    from mcrpy_poly.orientation.inverse import _tangent_generators

    basis = SHSHBasis("622")
    full, generators = _tangent_generators(basis)
    k = basis.n_terms
    assert full.n_terms > k and generators.shape == (full.n_terms, 3 * k)
    q, h = random_uniform(20, 12), 1e-5
    for i, axis in enumerate(np.eye(3)):
        slope = (basis(multiply(q, from_axis_angle(axis, h))) - basis(multiply(q, from_axis_angle(axis, -h)))) / (2 * h)
        np.testing.assert_allclose(full(q) @ generators[:, i * k:(i + 1) * k], slope, atol=1e-7)


def test_inverse_block_norms_bound_the_distance_to_the_image():
    """Far values skip the k-d tree on a lower bound of their distance to the image: check it."""
    from mcrpy_poly.orientation.inverse import _block_norms, _search_set

    basis = SHSHBasis("622")
    columns, norms = _block_norms(basis)
    assert len(columns) == 2  # N = 4 and 8 whole, N = 12 in part
    values = _search_set(basis, 3.0)[1][:, :basis.n_terms]
    target = basis(random_uniform(50, 13)) * np.random.default_rng(1).uniform(0.2, 3.0, (50, 1))
    gap = np.sqrt(sum((np.linalg.norm(target[:, c], axis=1) - n) ** 2 for c, n in zip(columns, norms)))
    distance = np.min(np.linalg.norm(target[:, None] - values[None], axis=-1), axis=1)
    assert np.all(gap <= distance + 1e-12) and gap.max() > 0.5


def _root(parent, i):
    """Union-find root of ``i``."""
    while parent[i] != i:
        i = parent[i]
    return i


def test_voronoi_grains_periodic_and_deterministic():
    omap, labels = voronoi((40, 50), 15, "m-3m", seed=4, return_labels=True)
    again = voronoi((40, 50), 15, "m-3m", seed=4)
    np.testing.assert_array_equal(omap.quaternions, again.quaternions)
    assert len(np.unique(labels)) == 15
    # Every grain is one orientation.
    for g in np.unique(labels):
        assert np.ptp(omap.quaternions[labels == g], axis=0).max() < 1e-12
    # Periodic: each grain is connected on the torus (pieces cut by the edge merge across it), and some
    # grains do cross the edge.
    from scipy import ndimage
    crossing = 0
    for g in np.unique(labels):
        pieces, n = ndimage.label(labels == g)
        parent = list(range(n + 1))
        for a, b in [(pieces[0], pieces[-1]), (pieces[:, 0], pieces[:, -1])]:
            for i, j in zip(a, b):
                if i and j:
                    parent[_root(parent, i)] = _root(parent, j)
        assert len({_root(parent, i) for i in range(1, n + 1)}) == 1
        crossing += n > 1
    assert crossing > 0


def test_voronoi_textures_and_aspect():
    from orix.vector import Vector3d
    cube = voronoi((30, 30), 40, "m-3m", texture="cube", spread=3.0, seed=1)
    angles = np.degrees(rotation_angle(cube.quaternions))
    assert np.median(angles) < 6.0
    fibre = voronoi((20, 20, 20), 30, "6/mmm", texture=("fibre", (0, 0, 1), (1, 0, 0)), spread=2.0, seed=1)
    crystal_of_x = fibre.to_orix() * Vector3d.xvector()  # sample x expressed in crystal coordinates
    assert np.median(np.abs(crystal_of_x.data.reshape(-1, 3)[:, 2])) > 0.99
    _, labels = voronoi((30, 90), 20, seed=2, aspect=(1, 4), return_labels=True)
    extent = [np.ptp(np.nonzero(labels == g)[1]) / max(1, np.ptp(np.nonzero(labels == g)[0])) for g in range(20)]
    assert np.median(extent) > 1.5
    with pytest.raises(InputError, match="unknown texture"):
        voronoi((8, 8), 3, texture="goss")
