"""Degree continuation of uniaxial (hexagonal) bases: which channels go first, and twist alignment.

References are independent of the package: Legendre polynomials (NumPy) for the SHSH distance of
c-axis functions, orix for c-axes and misorientations."""
import numpy as np
import pytest
from numpy.polynomial import legendre

from mcrpy_poly import SHSHBasis
from mcrpy_poly.orientation.quaternion import from_axis_angle, multiply, random_uniform
from mcrpy_poly.reconstruction.continuation import align_twists, axis_grains, c_axes, continuation_channels


def _tilted(angles):
    """Orientations whose sample-frame c-axis is tilted by ``angles`` (rad) from that of the identity,
    each with a different twist about its own c-axis (crystal z: left factor)."""
    tilt = np.stack([from_axis_angle(np.array([1.0, 0.0, 0.0]), a) for a in angles])
    twist = np.stack([from_axis_angle(np.array([0.0, 0.0, 1.0]), 1.7 * k) for k in range(len(angles))])
    return multiply(twist, tilt)


def test_continuation_starts_with_the_lowest_degree_only():
    assert continuation_channels(SHSHBasis("6/mmm")) == 5  # N = 4 of (4, 8, 12)
    assert continuation_channels(SHSHBasis("m-3m")) is None  # N = 8 alone fixes cubic orientations
    assert continuation_channels(SHSHBasis("622", degrees=(4,))) is None  # nothing to continue to


@pytest.mark.parametrize("n_terms, l_max", [(5, 2), (14, 4)])
def test_c_axis_distance_is_the_legendre_sum_with_a_false_minimum_from_degree_8(n_terms, l_max):
    # The addition theorem: for the complete c-axis degrees l = N / 2 (5 functions of l = 2, 9 of l = 4),
    # ||f(a) - f(b)||^2 = c * sum_l (2l + 1) (1 - P_l(cos theta)), theta the angle between the c-axes.
    basis = SHSHBasis("622", n_terms=n_terms)
    theta = np.linspace(0.05, np.pi / 2, 60)
    distance = np.sum((basis(_tilted(theta)) - basis(_tilted([0.0]))) ** 2, axis=-1)
    expected = sum((2 * degree + 1) * (1 - legendre.legval(np.cos(theta), np.eye(degree + 1)[degree]))
                   for degree in range(2, l_max + 1, 2))
    np.testing.assert_allclose(distance / expected, distance[0] / expected[0], rtol=1e-8)
    # N = 4 alone: the distance grows up to perpendicular c-axes; with N = 8 it has a false minimum there.
    rising = np.all(np.diff(distance) > 0)
    assert rising if l_max == 2 else (not rising and distance[-1] < distance[-10])


def test_align_twists_keeps_c_axes_and_makes_each_c_axis_grain_one_orientation():
    orix = pytest.importorskip("orix.quaternion")
    from orix.vector import Vector3d
    rng = np.random.default_rng(4)
    # Two half-planes of one c-axis each (a 30 degree tilt apart), every pixel with a random twist.
    grain_of = np.zeros((12, 10), int)
    grain_of[:, 5:] = 1
    base = np.stack([np.array([1.0, 0, 0, 0]), from_axis_angle(np.array([0.0, 1.0, 0.0]), np.radians(30))])
    twists = from_axis_angle(np.array([0.0, 0.0, 1.0]), rng.uniform(0, 2 * np.pi, grain_of.shape))
    state = multiply(twists, base[grain_of]) * rng.uniform(0.5, 2.0, grain_of.shape + (1,))
    aligned = align_twists(state)

    assert axis_grains(state).max() == 1
    symmetry = orix.symmetry.D6

    def sample_c_axes(q):  # orix: crystal z in the sample frame, (~o) * z
        q = q.reshape(-1, 4) / np.linalg.norm(q.reshape(-1, 4), axis=-1, keepdims=True)
        return ((~orix.Orientation(q, symmetry)) * Vector3d.zvector()).unit.data

    np.testing.assert_allclose(c_axes(state).reshape(-1, 3), sample_c_axes(state), atol=1e-12)
    cos = np.sum(sample_c_axes(aligned) * sample_c_axes(state), axis=-1)
    np.testing.assert_allclose(np.abs(cos), 1.0, atol=1e-12)  # the same axis, up to its sense
    orientations = orix.Orientation(aligned.reshape(-1, 4), symmetry)
    for grain in (0, 1):
        members = orientations[(grain_of == grain).ravel()]
        angles = np.degrees(members.angle_with(members[0]))
        assert angles.max() < 1e-6
    # Before: the random twists are misorientations of up to 30 degrees within a grain.
    members = orix.Orientation(state.reshape(-1, 4), symmetry)[(grain_of == 0).ravel()]
    assert np.degrees(members.angle_with(members[0])).max() > 20


def test_align_twists_keeps_a_grain_whose_c_axis_drifts_connected():
    # A c-axis that turns slowly (1 degree per pixel) stays one c-axis grain; each pixel keeps its own axis.
    tilt = np.radians(np.arange(20.0))
    state = _tilted(tilt).reshape(1, 20, 4)
    aligned = align_twists(state)
    assert axis_grains(state).max() == 0
    cos = np.abs(np.sum(c_axes(aligned) * c_axes(state), axis=-1))
    np.testing.assert_allclose(cos, 1.0, atol=1e-12)


def test_align_twists_is_a_no_op_on_one_orientation_turned_by_symmetry():
    q = random_uniform((1,), np.random.default_rng(0))[0]
    sixfold = from_axis_angle(np.array([0.0, 0.0, 1.0]), np.pi / 3)
    state = np.stack([q, multiply(sixfold, q)] * 4).reshape(2, 4, 4)
    basis = SHSHBasis("6/mmm")
    np.testing.assert_allclose(basis(align_twists(state)), basis(state), atol=1e-10)
