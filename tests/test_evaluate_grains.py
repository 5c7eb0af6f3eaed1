"""Grain segmentation: synthetic maps with known grains, periodic boundaries, symmetry."""
import numpy as np
import pytest
from scipy import ndimage

from mcrpy_poly import OrientationMap
from mcrpy_poly.errors import InputError
from mcrpy_poly.grains import MIN_SIZE, face_neighbour_pairs, label_components, segment_grains
from mcrpy_poly.orientation.quaternion import from_axis_angle, misorientation_angle, multiply
from mcrpy_poly.synthetic import voronoi

IDENTITY = np.array([1.0, 0.0, 0.0, 0.0])
ROTATED = from_axis_angle([1.0, 2.0, 3.0], np.radians(40.0))  # far from the identity for every symmetry


def two_grain_map(mask, symmetry="m-3m", second=ROTATED):
    """Identity orientation where ``mask`` is False, ``second`` where it is True."""
    q = np.where(mask[..., None], second, IDENTITY)
    return OrientationMap(q, symmetry)


def majority_agreement(labels, truth):
    """Fraction of pixels whose segmented grain's most common true grain is their own."""
    agree = 0
    for g in np.unique(labels):
        counts = np.bincount(truth[labels == g])
        agree += counts.max()
    return agree / labels.size


@pytest.mark.parametrize("shape, n_grains, seed", [((256, 256), 120, 3), ((40, 40, 40), 50, 1)])
def test_voronoi_grain_count_within_two_percent(shape, n_grains, seed):
    omap, truth = voronoi(shape, n_grains, seed=seed, return_labels=True)
    grains = segment_grains(omap, periodic=True)
    n_true = len(np.unique(truth))
    assert abs(grains.n_grains - n_true) <= 0.02 * n_true
    assert majority_agreement(grains.labels, truth) > 0.98
    assert grains.sizes.sum() == omap.indexed.sum()


def test_grain_crossing_the_periodic_boundary_is_one_grain():
    mask = np.zeros((32, 32), bool)
    mask[:, :4] = mask[:, 28:] = True  # one band split by the x faces
    omap = two_grain_map(mask)
    periodic = segment_grains(omap, periodic=True, min_size=1)
    assert periodic.n_grains == 2
    assert sorted(periodic.sizes) == [8 * 32, 24 * 32]
    assert segment_grains(omap, periodic=False, min_size=1).n_grains == 3


def test_grain_touching_itself_across_the_boundary():
    mask = np.zeros((32, 32), bool)
    mask[10:16, :] = True  # a band spanning the full width: its own neighbour across x
    grains = segment_grains(two_grain_map(mask), periodic=True, min_size=1)
    assert grains.n_grains == 2  # the rest is connected across the y faces
    assert grains.neighbour_pairs.tolist() == [[0, 1]]  # no grain neighbours itself
    assert segment_grains(two_grain_map(mask), periodic=False, min_size=1).n_grains == 3


def test_3d_corner_grain_wraps_across_all_faces():
    corner = np.zeros((16, 16, 16), bool)
    for sl in np.ndindex(2, 2, 2):
        corner[tuple(slice(0, 3) if s == 0 else slice(13, 16) for s in sl)] = True
    omap = two_grain_map(corner)
    periodic = segment_grains(omap, periodic=True, min_size=1)
    assert periodic.n_grains == 2
    assert sorted(periodic.sizes) == [6 ** 3, 16 ** 3 - 6 ** 3]
    assert segment_grains(omap, periodic=False, min_size=1).n_grains == 9


def test_symmetry_equivalent_orientations_form_one_grain():
    mask = np.zeros((20, 20), bool)
    mask[:, 10:] = True
    # 90 degrees about z (a cubic symmetry operator, not a hexagonal one) plus 2 degrees.
    turned = multiply(from_axis_angle([0.0, 0.0, 1.0], np.radians(92.0)), IDENTITY)
    assert segment_grains(two_grain_map(mask, "m-3m", turned), periodic=False).n_grains == 1
    assert segment_grains(two_grain_map(mask, "6/mmm", turned), periodic=False).n_grains == 2
    # ... and the threshold applies to the remaining 2 degrees.
    assert segment_grains(two_grain_map(mask, "m-3m", turned), threshold=1.5, periodic=False).n_grains == 2


def test_small_grains_are_dissolved_into_their_surroundings():
    mask = np.zeros((20, 20), bool)
    mask[7, 7] = True
    omap = two_grain_map(mask)
    assert segment_grains(omap, min_size=1).n_grains == 2
    grains = segment_grains(omap, min_size=2)
    assert grains.n_grains == 1 and np.all(grains.labels == 0)
    # The dissolved pixel does not enter the mean orientation.
    assert np.degrees(misorientation_angle(grains.orientations[0], IDENTITY)) < 1e-6


def test_unindexed_pixels_belong_to_no_grain():
    omap = voronoi((32, 32), 6, seed=0)
    indexed = np.ones(omap.shape, bool)
    indexed[:, 16] = False
    grains = segment_grains(omap.replace(indexed=indexed))
    assert np.all(grains.labels[:, 16] == -1)
    assert np.all(grains.labels[indexed] >= 0)


def test_mean_orientation_is_symmetry_aware():
    rng = np.random.default_rng(0)
    base = from_axis_angle([0.3, -0.2, 1.0], np.radians(25.0))
    scatter = from_axis_angle(rng.standard_normal((10, 10, 3)), np.radians(0.5) * np.ones((10, 10)))
    q = multiply(scatter, base)
    # Store half of the pixels as a different symmetry-equivalent (a cubic 120 deg about [111]).
    s = from_axis_angle([1.0, 1.0, 1.0], np.radians(120.0))
    q[:, :5] = multiply(s, q[:, :5])
    omap = OrientationMap(q, "m-3m")
    grains = segment_grains(omap, periodic=False)
    assert grains.n_grains == 1
    assert np.degrees(misorientation_angle(grains.orientations[0], base, omap.symmetry.quaternions)) < 0.3


def test_face_neighbour_pairs_count():
    assert sum(len(a) for a, _ in face_neighbour_pairs((4, 5), periodic=True)) == 2 * 20
    assert sum(len(a) for a, _ in face_neighbour_pairs((4, 5), periodic=False)) == 3 * 5 + 4 * 4
    assert sum(len(a) for a, _ in face_neighbour_pairs((3, 4, 5), periodic=False)) == 2 * 20 + 3 * 15 + 4 * 12


def test_bad_settings_raise_input_errors():
    omap = voronoi((16, 16), 3)
    with pytest.raises(InputError):
        segment_grains(omap, threshold=0)
    with pytest.raises(InputError):
        segment_grains(omap, min_size=0)


def same_partition(a, b):
    """Whether two label fields group the pixels alike (ids may differ)."""
    pairs = np.unique(np.stack([a.ravel(), b.ravel()]), axis=1)
    return pairs.shape[1] == len(np.unique(a)) == len(np.unique(b))


@pytest.mark.parametrize("shape", [(40, 36), (12, 10, 14)])
def test_label_components_are_scipy_components_of_equal_labels(shape):
    labels = np.random.default_rng(1).integers(0, 3, shape)  # many small, ragged components
    reference, offset = np.zeros(shape, int), 0
    for value in range(3):
        pieces, n = ndimage.label(labels == value)  # face connectivity, not periodic
        reference[pieces > 0] = pieces[pieces > 0] + offset
        offset += n
    components = label_components(labels, periodic=False, min_size=1)
    assert components.max() + 1 == offset
    assert same_partition(components, reference)
    # the default smallest grain: the components that reach it remain, every pixel in one of them
    kept = label_components(labels, periodic=False)
    assert kept.max() + 1 == np.sum(np.bincount(reference.ravel()) >= MIN_SIZE[len(shape)]) > 0
    assert kept.min() == 0


def test_label_components_wrap_round_the_edges():
    labels = np.zeros((16, 16), int)
    labels[:, :3] = labels[:, 13:] = 1  # one cell cut by the x faces
    labels[0, 7] = labels[15, 7] = 2  # one cell of two pixels cut by the y faces
    assert label_components(labels, periodic=True, min_size=1).max() + 1 == 3
    assert label_components(labels, periodic=False, min_size=1).max() + 1 == 5
    # the wrapped two-pixel cell is one component of 2 pixels: kept at min_size 2 when periodic only
    assert label_components(labels, periodic=True, min_size=2).max() + 1 == 3
    assert label_components(labels, periodic=False, min_size=2).max() + 1 == 3
    corner = np.zeros((8, 8, 8), int)
    corner[np.ix_(*[[0, 7]] * 3)] = 1  # eight corner voxels: one cell across all faces
    assert label_components(corner, periodic=True, min_size=1).max() + 1 == 2
    assert label_components(corner, periodic=False, min_size=1).max() + 1 == 9
    unlabelled = np.where(np.arange(16) < 8, labels, -1)
    assert np.all(label_components(unlabelled, min_size=1)[:, 8:] == -1)


def test_grains_of_distinct_orientations_are_the_components_of_their_labels():
    omap, labels = voronoi((48, 40), 30, seed=2, return_labels=True)
    for periodic in (True, False):
        assert np.array_equal(segment_grains(omap, periodic=periodic).labels, label_components(labels, periodic))
