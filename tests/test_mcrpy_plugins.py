"""MCRpy 0.2.0 integration: the SHSH plugins through mcrpy.characterize and mcrpy.view."""
import importlib
import os
import pickle

import mcrpy
import numpy as np
import pytest
import reference_descriptors as ref

import mcrpy_poly
from mcrpy_poly import SHSHBasis, synthetic
from mcrpy_poly.descriptors import channel_pairs, load_characterization
from mcrpy_poly.errors import InputError
from mcrpy_poly.mcrpy_bridge import (
    PLUGINS,
    MCRpySymmetry,
    euler_to_quaternion,
    load_mcrpy_characterization,
    mcrpy_microstructure,
)

NAMES = list(PLUGINS)


@pytest.fixture(scope="module")
def enabled():
    return mcrpy_poly.enable()


@pytest.fixture(scope="module")
def omap():
    return synthetic.voronoi((32, 24), 10, symmetry="m-3m", seed=6)


def reference(field, limit_to, periodic=True):
    limits = {"correlations": limit_to, "variogram": limit_to}
    values = ref.descriptors(field, limits, channel_pairs(field.shape[-1]), periodic=periodic)
    return {plugin: values[name] for plugin, name in PLUGINS.items()}


def pooled(field, size):
    """Block means of ``size x size`` pixels (MCRpy's multigrid average pooling, 'VALID')."""
    height, width = (n // size * size for n in field.shape[:2])
    blocks = field[:height, :width].reshape(height // size, size, width // size, size, -1)
    return blocks.mean(axis=(1, 3))


def test_enable_aliases_modules_without_touching_mcrpy(enabled):
    assert enabled == NAMES
    folder = os.path.dirname(importlib.import_module("mcrpy.descriptors").__file__)
    for name in NAMES:
        module = importlib.import_module(f"mcrpy.descriptors.{name}")
        assert module.__name__ == f"mcrpy_poly.plugins.{name}"
        assert not os.path.exists(os.path.join(folder, f"{name}.py"))
        from mcrpy.descriptors.OrientationDescriptor import OrientationDescriptor
        from mcrpy.src import descriptor_factory
        assert issubclass(descriptor_factory.get_class(name), OrientationDescriptor)


def test_euler_angles_convert_like_orix():
    from orix.quaternion import Rotation

    euler = np.random.default_rng(0).random((20, 3)) * [2 * np.pi, np.pi, 2 * np.pi]
    expected = Rotation.from_euler(euler).data
    actual = euler_to_quaternion(euler).numpy()
    np.testing.assert_allclose(actual * np.sign(actual[:, :1] * expected[:, :1]), expected, atol=1e-14)


@pytest.mark.parametrize("multigrid", [True, False])
def test_mcrpy_characterize_returns_shsh_descriptors(enabled, omap, multigrid):
    limit_to = 3
    ms = mcrpy_microstructure(omap)
    assert ms.has_orientations and ms.n_phases == 1
    settings = mcrpy.CharacterizationSettings(descriptor_types=NAMES, limit_to=limit_to,
                                              use_multigrid_descriptor=multigrid,
                                              symmetry=MCRpySymmetry(omap.point_group))
    result = mcrpy.characterize(ms, settings)
    field = SHSHBasis("m-3m")(omap.quaternions)
    levels = int(np.floor(np.log2(min(omap.shape) / limit_to))) if multigrid else 1  # MCRpy's rule
    assert levels == (3 if multigrid else 1)
    for level in range(levels):
        expected = reference(pooled(field, 2 ** level), limit_to)
        for name in NAMES:
            assert result[name].shape[:2] == (1, levels)
            np.testing.assert_allclose(result[name][0, level], expected[name], atol=1e-10, err_msg=f"{name} {level}")
    assert result["SHSHCorrelations"].shape[2:] == (45, 5, 5)  # limit_to is honoured


def test_mcrpy_characterize_nonperiodic_equals_characterize(enabled, omap, tmp_path):
    crop = omap.crop((0, 29), None)  # a measured map: not periodic
    settings = mcrpy.CharacterizationSettings(descriptor_types=NAMES, limit_to=3, use_multigrid_descriptor=False,
                                              symmetry=MCRpySymmetry(crop.point_group))
    settings.periodic = False  # MCRpy passes every settings attribute to the plugins
    result = mcrpy.characterize(mcrpy_microstructure(crop), settings)
    expected = reference(SHSHBasis("m-3m")(crop.quaternions), 3, periodic=False)
    ours = mcrpy_poly.characterize(crop, limit_to=3)
    for name, key in PLUGINS.items():
        np.testing.assert_allclose(result[name][0, 0], expected[name], atol=1e-10, err_msg=name)
        np.testing.assert_allclose(result[name][0, 0], ours[key], atol=1e-12, err_msg=name)
    mcrpy.save_characterization(result, "crop_", str(tmp_path))
    assert load_mcrpy_characterization(tmp_path / "crop_characterization.pickle", allow_pickle=True).periodic is False


def test_mcrpy_view_plots_and_pickle_loads_only_when_allowed(enabled, omap, tmp_path):
    settings = mcrpy.CharacterizationSettings(descriptor_types=NAMES, limit_to=4,
                                              symmetry=MCRpySymmetry(omap.point_group))
    result = mcrpy.characterize(mcrpy_microstructure(omap), settings)
    mcrpy.view(result, save_as=str(tmp_path / "view.png"))
    for name in NAMES:
        assert (tmp_path / f"view_{name}.png").stat().st_size > 1000
    mcrpy.save_characterization(result, "voronoi_", str(tmp_path))
    path = tmp_path / "voronoi_characterization.pickle"
    with pytest.raises(InputError, match="allow_pickle"):
        load_mcrpy_characterization(path)
    with pytest.raises(InputError, match="allow_pickle"):
        mcrpy_poly.load_characterization(path)
    with pytest.raises(InputError, match="allow_pickle"):
        load_characterization(path)  # the descriptors' reader knows no MCRpy
    loaded = mcrpy_poly.load_characterization(path, allow_pickle=True)
    assert loaded.symmetry.name == "432" and loaded.shape == (32, 24) and loaded.limit_to["variogram"] == 4
    for name, key in PLUGINS.items():
        np.testing.assert_array_equal(loaded[key], result[name][0, 0])


def test_mcrpy_slices_of_a_volume(enabled):
    volume = synthetic.voronoi((6, 7, 8), 5, seed=2)
    settings = mcrpy.CharacterizationSettings(descriptor_types=["SHSHTexture", "MeanVariation"], limit_to=2,
                                              use_multigrid_descriptor=False, symmetry=MCRpySymmetry("m-3m"))
    result = mcrpy.characterize(mcrpy_microstructure(volume), settings)
    field = SHSHBasis("m-3m")(volume.quaternions)
    for axis in range(3):  # MCRpy returns one average over slices per axis
        slices = [np.take(field, i, axis=axis) for i in range(field.shape[axis])]
        np.testing.assert_allclose(result["MeanVariation"][axis][0, 0],
                                   np.mean([ref.mean_variation(s) for s in slices], axis=0), atol=1e-10)
        np.testing.assert_allclose(result["SHSHTexture"][axis][0, 0], ref.texture(field), atol=1e-10)


def test_pickle_without_shsh_descriptors_is_rejected(tmp_path):
    path = tmp_path / "other.pickle"
    with open(path, "wb") as fh:
        pickle.dump({"settings": mcrpy.CharacterizationSettings(), "FFTCorrelations": np.zeros((1, 1, 3, 3))}, fh)
    with pytest.raises(InputError, match="none of the SHSH"):
        load_mcrpy_characterization(path, allow_pickle=True)
