"""Grain metrics on maps whose grains, chords, specks and boundary misorientations are known by construction."""
import numpy as np
import pytest

from mcrpy_poly import OrientationMap
from mcrpy_poly.evaluate.grain_metrics import grain_metrics, histogram_w1, relative_grain_errors
from mcrpy_poly.orientation.quaternion import from_axis_angle

IDENTITY = np.array([1.0, 0.0, 0.0, 0.0])


def stripes(widths, height=12, angles=None, step=(1.0, 1.0)):
    """Vertical stripes of the given widths, stripe ``i`` turned by ``angles[i]`` degrees about z."""
    angles = np.arange(len(widths)) * 20.0 if angles is None else np.asarray(angles, float)
    columns = np.repeat(np.arange(len(widths)), widths)
    q = from_axis_angle([0.0, 0.0, 1.0], np.radians(angles[columns]))
    return OrientationMap(np.broadcast_to(q, (height, len(columns), 4)).copy(), "m-3m", step=step)


def test_stripes_periodic_counts_diameters_chords():
    omap = stripes([4, 6, 10], height=12, step=(0.5, 0.5))
    m = grain_metrics(omap, periodic=True)
    assert m["n_grains"] == 3
    areas = np.array([4, 6, 10]) * 12 * 0.25
    assert m["mean_equivalent_diameter"] == pytest.approx(np.mean(2 * np.sqrt(areas / np.pi)))
    assert m["chord_mean_x"] == pytest.approx(np.mean([4, 6, 10]) * 0.5)
    assert m["chord_mean_y"] == pytest.approx(12 * 0.5)  # each column is one run of the full height
    assert m["grains_per_area"] == pytest.approx(3 / (12 * 20 * 0.25))
    assert m["speckle_fraction"] == 0.0
    # boundaries: columns 3|4, 9|10 and 19|0 (periodic): 3 x 12 pairs of 40 pairs... of 2 * 240 pairs in all
    assert m["boundary_fraction"] == pytest.approx(36 / 480)
    # two boundaries of 20 degrees, one of 40 (stripe 2 against stripe 0 across the periodic edge)
    assert m["boundary_misorientation_mean"] == pytest.approx((20 + 20 + 40) / 3, abs=1e-6)
    # interior: pixels not next to a boundary: columns 1-2, 5-8, 11-18 -> 14 of 20 columns
    assert m["interior_fraction"] == pytest.approx(14 / 20)


def test_non_periodic_chords_leave_out_runs_at_the_edge():
    m = grain_metrics(stripes([4, 6, 10]), periodic=False)
    assert m["chord_mean_x"] == pytest.approx(6.0)  # only the middle stripe is a complete run
    assert np.isnan(m["chord_mean_y"])  # every vertical run touches both edges


def test_speck_inside_a_grain_counts_as_speckle_and_not_as_a_grain():
    omap = stripes([10, 10], height=10)
    q = omap.quaternions.copy()
    q[4, 4] = from_axis_angle([1.0, 0.0, 0.0], np.radians(30.0))
    m = grain_metrics(OrientationMap(q, "m-3m"), periodic=True)
    assert m["n_grains"] == 2
    assert m["speckle_fraction"] == pytest.approx(1 / 200)


def test_histogram_w1_of_shifted_boundary_angles_is_the_shift():
    a = grain_metrics(stripes([5, 5], angles=[0, 20]), periodic=True)
    b = grain_metrics(stripes([5, 5], angles=[0, 30]), periodic=True)
    assert relative_grain_errors(a, b)["boundary_misorientation_w1"] == pytest.approx(10.0)
    assert histogram_w1([0, 1, 0], [0, 0, 1], 2.0) == pytest.approx(2.0)


def test_relative_errors_are_signed_ratios():
    ref = grain_metrics(stripes([10, 10]), periodic=True)
    half = grain_metrics(stripes([5, 5, 5, 5]), periodic=True)
    errors = relative_grain_errors(ref, half)
    assert errors["chord_mean_x_error"] == pytest.approx(-0.5)
    assert errors["grains_per_area_error"] == pytest.approx(1.0)
