"""3D exporters: VTK ImageData (.vti) decoded by hand, DREAM.3D layout read with h5py."""
import base64
import xml.etree.ElementTree as ET

import h5py
import numpy as np
import pytest
from orix.quaternion import Rotation

from mcrpy_poly import synthetic
from mcrpy_poly.errors import InputError
from mcrpy_poly.io.export import save_dream3d, save_vti


@pytest.fixture(scope="module")
def volume():
    return synthetic.voronoi((5, 4, 3), 6, seed=2, step=0.5)


def _same_rotation(q1, q2):
    return np.allclose(np.abs(np.sum(q1 * q2, axis=-1)), 1.0, atol=1e-9)


def _decode(array_element):
    raw = base64.b64decode(array_element.text.strip())
    n_bytes = int(np.frombuffer(raw[:8], "<u8")[0])
    dtype = {"Float64": "<f8", "Int32": "<i4"}[array_element.get("type")]
    return np.frombuffer(raw[8:8 + n_bytes], dtype).reshape(-1, int(array_element.get("NumberOfComponents")))


def test_vti_cells_run_x_fastest_and_hold_euler_angles(volume, tmp_path):
    path = save_vti(tmp_path / "v.vti", volume)
    root = ET.parse(path).getroot()
    image = root.find("ImageData")
    assert image.get("WholeExtent") == "0 4 0 5 0 3"  # x = axis 1 (W), y = axis 0 (H), z = axis 2 (D)
    assert image.get("Spacing") == "0.5 0.5 0.5"
    arrays = {a.get("Name"): _decode(a) for a in root.iter("DataArray")}
    h, w, d = volume.shape
    for flat in range(h * w * d):
        x, y, z = flat % w, (flat // w) % h, flat // (w * h)
        q = volume.quaternions[y, x, z]
        np.testing.assert_allclose(arrays["Quaternions"][flat], q)
        assert _same_rotation(Rotation.from_euler(arrays["EulerAngles"][flat]).data[0], q)
    assert np.all(arrays["Phases"] == 1)


def test_dream3d_layout(volume, tmp_path):
    path = save_dream3d(tmp_path / "v.dream3d", volume)
    with h5py.File(path, "r") as f:
        assert f.attrs["FileVersion"] == b"7.0"
        container = f["DataContainers/ImageDataContainer"]
        np.testing.assert_array_equal(container["_SIMPL_GEOMETRY/DIMENSIONS"][()], [4, 5, 3])
        euler = container["CellData/EulerAngles"][()]
        assert euler.shape == (3, 5, 4, 3) and euler.dtype == np.float32
        np.testing.assert_array_equal(container["CellData"].attrs["TupleDimensions"], [4, 5, 3])
        assert container["CellData/EulerAngles"].attrs["ObjectType"] == b"DataArray<float>"
        np.testing.assert_array_equal(container["CellEnsembleData/CrystalStructures"][()].ravel(), [999, 1])
        q = Rotation.from_euler(euler[2, 1, 3].astype(float)).data[0]
        assert np.allclose(abs(np.dot(q, volume.quaternions[1, 3, 2])), 1.0, atol=1e-6)


def test_dream3d_crystal_structure_of_hexagonal(tmp_path):
    hexagonal = synthetic.voronoi((3, 3, 3), 2, symmetry="6/mmm", seed=1)
    with h5py.File(save_dream3d(tmp_path / "h.dream3d", hexagonal), "r") as f:
        structures = f["DataContainers/ImageDataContainer/CellEnsembleData/CrystalStructures"][()].ravel()
    np.testing.assert_array_equal(structures, [999, 0])  # DREAM.3D: Hexagonal_High = 0


def test_2d_maps_are_refused(tmp_path):
    with pytest.raises(InputError, match="3D"):
        save_vti(tmp_path / "m.vti", synthetic.voronoi((4, 4), 2))
    assert not (tmp_path / "m.vti").exists()


def test_feature_ids_are_grain_ids_plus_one(volume, tmp_path):
    grain_ids = np.arange(60).reshape(5, 4, 3) % 7
    root = ET.parse(save_vti(tmp_path / "v.vti", volume, grain_ids)).getroot()
    feature_ids = {a.get("Name"): _decode(a) for a in root.iter("DataArray")}["FeatureIds"].ravel()
    h, w, d = volume.shape
    for flat in (0, 7, 59):
        x, y, z = flat % w, (flat // w) % h, flat // (w * h)
        assert feature_ids[flat] == grain_ids[y, x, z] + 1
    with h5py.File(save_dream3d(tmp_path / "v.dream3d", volume, grain_ids), "r") as f:
        stored = f["DataContainers/ImageDataContainer/CellData/FeatureIds"]
        assert stored.shape == (3, 5, 4, 1) and stored[2, 1, 3, 0] == grain_ids[1, 3, 2] + 1
        assert stored.attrs["ObjectType"] == b"DataArray<int32_t>"
