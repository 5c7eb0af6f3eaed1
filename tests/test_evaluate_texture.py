"""IPF colours and pictures, pole figures, ODF coefficients, spatial statistics maps."""
import numpy as np
import pytest
from PIL import Image

from mcrpy_poly import OrientationMap, SHSHBasis
from mcrpy_poly.evaluate.ipf import ipf_rgb, save_ipf_png
from mcrpy_poly.evaluate.pole_figures import (
    pole_density,
    pole_figures,
    projection_grid,
    sample_poles,
    save_pole_figures,
)
from mcrpy_poly.evaluate.statistics import plane_statistics, relative_error_map, share_below
from mcrpy_poly.evaluate.texture import odf_basis, odf_coefficients, shsh_field
from mcrpy_poly.orientation.quaternion import from_axis_angle, multiply, random_uniform
from mcrpy_poly.synthetic import voronoi

Z = np.array([0.0, 0.0, 1.0])


def crystal_direction_along_z(direction):
    """Orientation (orix, passive) that puts the crystal ``direction`` along sample z."""
    d = np.asarray(direction, float) / np.linalg.norm(direction)
    axis = np.cross(Z, d)
    return from_axis_angle(axis if np.linalg.norm(axis) > 0 else Z, np.arccos(d @ Z))


@pytest.mark.parametrize("direction, colour", [((0, 0, 1), 0), ((1, 0, 1), 1), ((1, 1, 1), 2)])
def test_ipf_corner_colours(direction, colour):
    q = np.tile(crystal_direction_along_z(direction), (3, 4, 1))
    indexed = np.ones((3, 4), bool)
    indexed[0, 0] = False
    rgb = ipf_rgb(OrientationMap(q, "m-3m", indexed=indexed), "z")
    assert rgb.shape == (3, 4, 3)
    assert np.all(rgb[0, 0] == 0.0)  # not indexed: black
    assert rgb[1, 1, colour] == pytest.approx(1.0, abs=0.02)  # red [001], green [101], blue [111]
    assert np.delete(rgb[1, 1], colour).max() < 0.05


def test_ipf_png_sizes(tmp_path):
    save_ipf_png(tmp_path / "map.png", voronoi((30, 50), 8), scale=3)
    with Image.open(tmp_path / "map.png") as image:
        assert image.size == (150, 90) and image.mode == "RGB"
    save_ipf_png(tmp_path / "volume.png", voronoi((10, 12, 14), 8))  # middle section normal to axis 0
    with Image.open(tmp_path / "volume.png") as image:
        assert image.size == (14, 12)
    rgb = np.asarray(Image.open(tmp_path / "map.png"), float) / 255
    assert np.allclose(rgb[::3, ::3], ipf_rgb(voronoi((30, 50), 8)), atol=1 / 255)


def nearest(directions, density, vector):
    vector = np.asarray(vector, float) / np.linalg.norm(vector)
    flat = directions.reshape(-1, 3)
    return density.ravel()[np.nanargmin(np.linalg.norm(flat - vector, axis=1))]


def test_cube_texture_puts_100_maxima_on_the_sample_axes():
    omap = voronoi((96, 96), 80, texture="cube", spread=3.0, seed=2)
    directions = projection_grid()[1]
    density = pole_figures(omap.quaternions.reshape(-1, 4), "m-3m", [(1, 0, 0)])["{100}"]
    for axis in ((0, 0, 1), (1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0)):
        assert nearest(directions, density, axis) > 20.0  # MRD; random is 1
    for off_axis in ((1, 0, 1), (1, 1, 0), (1, 1, 1), (0, 1, 2)):
        assert nearest(directions, density, off_axis) < 0.01
    # Every point above half the maximum lies within 8 degrees of a sample axis.
    high = directions[density > 0.5 * np.nanmax(density)]
    assert np.max(np.abs(high), axis=1).min() > np.cos(np.radians(8.0))


def test_pole_position_of_a_known_rotation():
    # Passive 30 degrees about x: crystal [001] lies at (0, sin 30, cos 30) in the sample frame.
    poles = sample_poles(from_axis_angle([1, 0, 0], np.radians(30.0))[None], "m-3m", (0, 0, 1))
    assert np.min(np.linalg.norm(poles - [0.0, 0.5, np.sqrt(3) / 2], axis=1)) < 1e-9


def test_uniform_orientations_give_one_mrd():
    poles = sample_poles(random_uniform(20000, 1), "m-3m", (1, 1, 0))
    density = pole_density(poles, projection_grid()[1])
    assert np.nanmean(density) == pytest.approx(1.0, abs=0.02)
    assert np.nanmin(density) > 0.8 and np.nanmax(density) < 1.2


def test_hexagonal_basal_fibre():
    omap = voronoi((64, 64), 60, symmetry="6/mmm", texture=("fibre", (0, 0, 1), (1, 0, 0)), spread=2.0)
    directions = projection_grid()[1]
    densities = pole_figures(omap.quaternions.reshape(-1, 4), "6/mmm")
    assert list(densities) == ["{0001}", "{10-10}", "{11-20}"]
    assert nearest(directions, densities["{0001}"], (1, 0, 0)) > 20.0
    assert nearest(directions, densities["{0001}"], (0, 0, 1)) < 0.01
    assert nearest(directions, densities["{10-10}"], (0, 1, 1)) > 2.0  # on the great circle normal to x


def test_pole_figure_png(tmp_path):
    omap = voronoi((32, 32), 10)
    densities = pole_figures(omap.quaternions.reshape(-1, 4), "m-3m")
    save_pole_figures(tmp_path / "pf.png", {"a": densities, "b": densities}, dpi=50)
    with Image.open(tmp_path / "pf.png") as image:
        assert image.size == (round(3.3 * 3 * 50), round(3.0 * 2 * 50))  # figsize times dpi


def test_odf_coefficients_ignore_the_symmetry_representative():
    omap = voronoi((24, 24), 10, seed=5)
    basis = odf_basis(omap.symmetry, 12)
    assert basis.degrees == (8, 12)
    reference = odf_coefficients(shsh_field(omap, basis), omap.indexed)
    ops = omap.symmetry.quaternions[np.random.default_rng(0).integers(0, 24, omap.shape)]
    moved = omap.replace(quaternions=multiply(ops, omap.quaternions))
    assert np.allclose(odf_coefficients(shsh_field(moved, basis), moved.indexed), reference, atol=1e-10)
    # The mean over indexed pixels only.
    indexed = np.zeros(omap.shape, bool)
    indexed[:5] = True
    direct = basis(omap.quaternions[:5].reshape(-1, 4)).mean(axis=0)
    assert np.allclose(odf_coefficients(shsh_field(omap, basis), indexed), direct)


def test_statistics_maps_match_numpy_reference():
    omap = voronoi((20, 24), 8, seed=1)
    field = SHSHBasis(omap.symmetry)(omap.quaternions)[..., :3]
    mask = np.ones(omap.shape, bool)
    mask[3:6, 4:9] = False
    stats = plane_statistics(field, mask, limit_to=4)
    for dy, dx in [(0, 0), (1, 0), (0, 3), (-2, 1), (3, -3)]:
        shifted = np.roll(field, (-dy, -dx), axis=(0, 1))  # f(x + r)
        pair = mask & np.roll(mask, (-dy, -dx), axis=(0, 1))
        expected_gamma = 0.5 * ((shifted - field) ** 2)[pair].mean(axis=0)
        expected_corr = (field[..., 0] * shifted[..., 2])[pair].mean()
        assert np.allclose(stats["variogram"][:, dy + 3, dx + 3], expected_gamma, atol=1e-14)
        assert stats["correlations"][stats["pairs"].index((0, 2)), dy + 3, dx + 3] == pytest.approx(expected_corr)


def test_nonperiodic_statistics_maps_match_numpy_reference():
    omap = voronoi((20, 24), 8, seed=1)
    field = SHSHBasis(omap.symmetry)(omap.quaternions)[..., :3]
    mask = np.ones(omap.shape, bool)
    mask[3:6, 4:9] = False
    stats = plane_statistics(field, mask, limit_to=4, periodic=False)
    for dy, dx in [(0, 0), (1, 0), (0, 3), (-2, 1), (3, -3)]:
        # f(x + r) over the pixels x whose partner x + r lies inside the map
        inside = (slice(max(0, -dy), 20 - max(0, dy)), slice(max(0, -dx), 24 - max(0, dx)))
        moved = (slice(max(0, dy), 20 + min(0, dy)), slice(max(0, dx), 24 + min(0, dx)))
        pair = mask[inside] & mask[moved]
        expected_gamma = 0.5 * ((field[moved] - field[inside]) ** 2)[pair].mean(axis=0)
        expected_corr = (field[inside][..., 0] * field[moved][..., 2])[pair].mean()
        assert np.allclose(stats["variogram"][:, dy + 3, dx + 3], expected_gamma, atol=1e-14)
        assert stats["correlations"][stats["pairs"].index((0, 2)), dy + 3, dx + 3] == pytest.approx(expected_corr)


def test_volume_slice_statistics_pool_the_slices():
    omap = voronoi((10, 12, 14), 6, seed=2)
    field = SHSHBasis(omap.symmetry)(omap.quaternions)[..., :2]
    stats = plane_statistics(field, omap.indexed, limit_to=3, axis=1)
    per_slice = [plane_statistics(field[:, i], omap.indexed[:, i], 3)["variogram"] for i in range(12)]
    assert np.allclose(stats["variogram"], np.mean(per_slice, axis=0), atol=1e-14)


def test_relative_error_map_and_share():
    reference = np.array([[[1.0, 2.0], [0.0, -4.0]]])
    candidate = np.array([[[1.02, 2.5], [0.01, -4.0]]])
    errors = relative_error_map(candidate, reference)
    # The zero entry is measured against the floor of 1 % of the largest |reference| (0.04).
    assert np.allclose(errors[0], [[0.02, 0.25], [0.25, 0.0]])
    assert share_below(errors) == pytest.approx(0.5)
    assert share_below(relative_error_map(reference, reference)) == 1.0
    # Against the peak |reference| = 4.
    assert np.allclose(relative_error_map(candidate, reference, "peak")[0], [[0.005, 0.125], [0.0025, 0.0]])
