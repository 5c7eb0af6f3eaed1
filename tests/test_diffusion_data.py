"""Diffusion data: frame-change augmentation, patches and scaling, the way back to orientations."""
import numpy as np
import pytest

from mcrpy_poly import OrientationMap, SHSHBasis, synthetic
from mcrpy_poly.descriptors import characterize
from mcrpy_poly.diffusion import SAMPLE_GROUPS, ChannelScaler, PatchDataset, nearest_training_agreement, rotate_map
from mcrpy_poly.diffusion.data import fields_to_quaternions
from mcrpy_poly.errors import ShapeError
from mcrpy_poly.orientation.quaternion import from_axis_angle, misorientation_angle, multiply, random_uniform


def physically_rotated(quaternions, matrix):
    """Independent reference: the specimen turned by ``matrix`` (x, y, z sample axes; array
    axis 0 = y, axis 1 = x). Pixel positions by explicit coordinates, orientations by orix
    rotation matrices: crystal = O sample, sample' = M sample  =>  O' = O M^T."""
    from orix.quaternion import Rotation

    h, w = quaternions.shape[:2]
    m = np.asarray(matrix, dtype=float)
    out = np.zeros((w, h, 4) if m[0, 0] == 0 else (h, w, 4))
    rows, cols = out.shape[:2]
    for i in range(h):
        for j in range(w):
            x, y = j - (w - 1) / 2, i - (h - 1) / 2
            x2, y2 = m[0, 0] * x + m[0, 1] * y, m[1, 0] * x + m[1, 1] * y
            out[int(round(y2 + (rows - 1) / 2)), int(round(x2 + (cols - 1) / 2))] = quaternions[i, j]
    o = Rotation(out.reshape(-1, 4)).to_matrix()
    return Rotation.from_matrix(o @ m.T).data.reshape(out.shape)


def test_there_are_eight_distinct_proper_frame_changes():
    mats = SAMPLE_GROUPS["422"]
    assert len({m.tobytes() for m in mats}) == 8
    assert all(np.isclose(np.linalg.det(m), 1) for m in mats)
    assert len(SAMPLE_GROUPS["222"]) == 4 and len(SAMPLE_GROUPS["none"]) == 1


@pytest.mark.parametrize("index", range(8))
def test_augmented_map_equals_the_physically_rotated_map(index):
    matrix = SAMPLE_GROUPS["422"][index]
    q = random_uniform((5, 5), 3)
    got = rotate_map(q, matrix)
    expected = physically_rotated(q, matrix)
    angle = misorientation_angle(got, expected)  # no crystal symmetry: the exact rotation
    assert np.degrees(angle).max() < 1e-4  # arccos round-off near 1


def test_crystal_directions_follow_the_sample_rotation():
    """A crystal axis seen along sample x before a +90 degree turn about z is seen along y after."""
    from orix.quaternion import Orientation
    from orix.vector import Vector3d

    fourfold = SAMPLE_GROUPS["422"][1]  # +90 degrees about z
    assert np.array_equal(fourfold @ [1, 0, 0], [0, 1, 0])
    q = np.array([[from_axis_angle([0, 0, 1], 0.0)]])  # cube: crystal [100] along sample x
    turned = rotate_map(q, fourfold)
    in_sample = (~Orientation(turned.reshape(-1, 4))) * Vector3d([1, 0, 0])
    np.testing.assert_allclose(in_sample.data[0], [0, 1, 0], atol=1e-12)


def test_descriptors_of_augmented_map_equal_those_of_the_rotated_map():
    omap = synthetic.voronoi((24, 24), 8, seed=4)
    basis = SHSHBasis("m-3m")
    for matrix in SAMPLE_GROUPS["422"][1:]:
        augmented = OrientationMap(rotate_map(omap.quaternions, matrix), "m-3m")
        reference = OrientationMap(physically_rotated(omap.quaternions, matrix), "m-3m")
        a = characterize(augmented, ("correlations", "texture"), limit_to=4, basis=basis).descriptors
        b = characterize(reference, ("correlations", "texture"), limit_to=4, basis=basis).descriptors
        for name in a:
            np.testing.assert_allclose(a[name], b[name], atol=1e-10)
    # Moving pixels without turning the orientations is not the same microstructure.
    moved_only = OrientationMap(np.rot90(omap.quaternions, -1), "m-3m")
    texture = characterize(moved_only, ("texture",), basis=basis).descriptors["texture"]
    rotated = characterize(OrientationMap(rotate_map(omap.quaternions, SAMPLE_GROUPS["422"][1]), "m-3m"),
                           ("texture",), basis=basis).descriptors["texture"]
    assert not np.allclose(texture, rotated, atol=1e-3)


def test_patches_are_scaled_with_stored_statistics():
    basis = SHSHBasis("m-3m")
    omap = synthetic.voronoi((20, 28), 6, seed=2)
    data = PatchDataset([omap], basis, 8, augment="222")
    values = np.concatenate([basis(rotate_map(omap.quaternions, m)).reshape(-1, 9) for m in SAMPLE_GROUPS["222"]])
    np.testing.assert_allclose(data.scaler.mean, values.mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(data.scaler.std, values.std(axis=0), atol=1e-12)
    patches, labels = data.batch(64, np.random.default_rng(0))
    assert patches.shape == (64, 8, 8, 9) and patches.dtype == np.float32 and np.all(labels == 0)
    assert np.all(patches >= data.scaler.low - 1e-5) and np.all(patches <= data.scaler.high + 1e-5)
    restored = ChannelScaler.from_dict(data.scaler.to_dict())
    np.testing.assert_allclose(restored.unscale(restored.scale(values[:10])), values[:10], atol=1e-6)
    with pytest.raises(ShapeError):
        PatchDataset([omap], basis, 32)


def test_back_to_orientations_and_agreement_with_training_vectors():
    omap = synthetic.voronoi((12, 12), 5, seed=6)
    basis = SHSHBasis("m-3m")
    scaler = ChannelScaler.fit(omap.shsh(basis))
    recovered = fields_to_quaternions(scaler.scale(omap.shsh(basis)), scaler, basis)
    assert np.degrees(misorientation_angle(recovered, omap.quaternions, omap.symmetry.quaternions)).max() < 0.5
    values = omap.shsh(basis)
    assert nearest_training_agreement(values, recovered, [omap], basis) == 1.0
    tilted = multiply(recovered, from_axis_angle([1, 2, 3], np.radians(10)))
    assert nearest_training_agreement(values, tilted, [omap], basis) == 0.0
