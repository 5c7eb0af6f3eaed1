"""Grains of a reconstruction result: grain_ids.npy / grain_orientations.npy, written and read back."""
import json

import numpy as np
import pytest

from mcrpy_poly import synthetic
from mcrpy_poly.grains import Grains
from mcrpy_poly.orientation.quaternion import misorientation_angle
from mcrpy_poly.reconstruction.result import Reconstruction


@pytest.fixture
def result():
    return Reconstruction(synthetic.voronoi((20, 20), 6, seed=4, step=0.5), np.array([3.0, 1.0]), {"max_iter": 2})


def test_save_writes_the_segmented_grains(result, tmp_path):
    result.save(tmp_path)
    ids = np.load(tmp_path / "grain_ids.npy")
    orientations = np.load(tmp_path / "grain_orientations.npy")
    assert ids.dtype == np.int32 and ids.shape == (20, 20)
    assert len(orientations) == 6 and set(np.unique(ids)) == set(range(6))  # a Voronoi map of 6 cells
    # each grain's orientation is that of its cell (Voronoi cells have one orientation each)
    angles = misorientation_angle(orientations[ids], result.orientations.quaternions,
                                  result.orientations.symmetry.quaternions)
    assert np.degrees(angles).max() < 1e-6
    assert json.loads((tmp_path / "reconstruction.json").read_text())["grains"]["given"] is False
    assert Reconstruction.load(tmp_path).grains is None


def test_given_grains_are_written_and_read_back(result, tmp_path):
    labels = np.zeros((20, 20), int)
    labels[:, 10:] = 1
    given = Grains(labels=labels, orientations=np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0]]),
                   symmetry=result.orientations.symmetry, step=(9.0, 9.0), periodic=True, threshold=5.0, min_size=5)
    result.grains = given
    result.save(tmp_path)
    np.testing.assert_array_equal(np.load(tmp_path / "grain_ids.npy"), labels)
    loaded = Reconstruction.load(tmp_path)
    np.testing.assert_array_equal(loaded.grains.labels, labels)
    np.testing.assert_array_equal(loaded.grains.orientations, given.orientations)
    assert loaded.grain_segmentation().step == (0.5, 0.5)  # the result's step, not a stale one


def test_results_without_grain_files_still_load(result, tmp_path):
    result.save(tmp_path)
    (tmp_path / "grain_ids.npy").unlink()
    (tmp_path / "grain_orientations.npy").unlink()
    meta = json.loads((tmp_path / "reconstruction.json").read_text())
    del meta["grains"]
    (tmp_path / "reconstruction.json").write_text(json.dumps(meta))
    loaded = Reconstruction.load(tmp_path)
    assert loaded.grains is None and loaded.grain_segmentation().n_grains == 6


def test_a_noisy_field_still_gives_every_voxel_a_grain():
    noise = synthetic.voronoi((12, 12), 144, seed=1)  # one cell per pixel: no grain reaches 5 pixels
    grains = Reconstruction(noise, np.zeros(1), {}).grain_segmentation()
    assert grains.min_size == 1 and np.all(grains.labels >= 0)
