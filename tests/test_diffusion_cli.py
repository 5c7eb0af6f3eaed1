"""train-ddpm / sample-ddpm end to end on a tiny synthetic map, and their exit codes.

The end-to-end runs compile a training step (about 40 s on 2 busy CPU cores), so they are
marked slow; the exit codes of bad input are checked by default.
"""
import json

import numpy as np
import pytest

from mcrpy_poly import OrientationMap, synthetic
from mcrpy_poly.cli import sample_ddpm, train_ddpm

TINY = ["--preset", "tiny", "--patch", "16", "--batch", "4", "--timesteps", "50", "--no-xla"]


@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("ddpm")
    synthetic.voronoi((24, 24), 5, seed=3).save(root / "map.npz")
    code = train_ddpm.main([str(root / "map.npz"), "--out", str(root / "model"), "--steps", "3",
                            "--checkpoint-every", "2", *TINY])
    return root, code


@pytest.mark.slow
def test_train_writes_a_model_and_resumes(trained_dir):
    root, code = trained_dir
    assert code == 0
    config = json.loads((root / "model" / "config.json").read_text())
    assert config["step"] == 3 and config["metadata"]["patch"] == 16
    assert len(np.load(root / "model" / "history.npz")["loss"]) == 3
    assert train_ddpm.main([str(root / "map.npz"), "--out", str(root / "model"), "--steps", "5", *TINY]) == 0
    assert json.loads((root / "model" / "config.json").read_text())["step"] == 5
    history = np.load(root / "model" / "history.npz")
    assert list(history["step"]) == [1, 2, 3, 4, 5]


@pytest.mark.slow
def test_sample_writes_maps_pictures_and_comparison(trained_dir):
    root, _ = trained_dir
    out = root / "samples"
    assert sample_ddpm.main([str(root / "model"), "--out", str(out), "--n", "2", "--size", "16",
                             "--steps", "3", "--limit-to", "4"]) == 0
    q = np.load(out / "sample_001.npy")
    assert q.shape == (16, 16, 4)
    np.testing.assert_allclose(np.linalg.norm(q, axis=-1), 1.0, atol=1e-9)
    for name in ("sample_000.ang", "sample_000_ipf.png", "reference_ipf.png"):
        assert (out / name).stat().st_size > 0
    summary = json.loads((out / "summary.json").read_text())
    assert 0.0 <= summary["within_5_degrees_of_nearest_training_vector"] <= 1.0
    errors = summary["descriptor_errors"]["texture"]["errors"]
    assert len(errors) == 2 and summary["descriptor_errors"]["texture"]["mean"] == pytest.approx(np.mean(errors))
    assert summary["method"] == "ddpm" and len(summary["grain_metrics"]["errors"]) == 2


@pytest.mark.slow
@pytest.mark.parametrize("start, guidance", [("literal", "0"), ("sdedit", "0.3")])
def test_condition_runs_lgd_end_to_end(trained_dir, start, guidance):
    root, _ = trained_dir
    out = root / f"lgd_{start}"
    assert sample_ddpm.main([str(root / "model"), "--condition", str(root / "map.npz"), "--out", str(out),
                             "--n", "2", "--size", "16", "--t0", "20", "--start", start, "--limit-to", "4",
                             "--guidance-weight", guidance]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["method"] == "lgd" and summary["t0"] == 20 and summary["steps"] == 21
    assert summary["guidance_weight"] == float(guidance)
    assert summary["sampler"] == "ddpm" and summary["start"] == start
    np.testing.assert_allclose(np.linalg.norm(np.load(out / "sample_001.npy"), axis=-1), 1.0, atol=1e-9)
    grains = summary["grain_metrics"]
    assert len(grains["errors"]) == 2 and grains["reference"]["periodic"] is False
    assert all(m["periodic"] is False for m in grains["samples"])  # measured as the reference is


def test_grf_only_needs_no_network(tmp_path):
    """--grf-only: Gaussian-random-field samples of REF mapped to orientations, with no model."""
    reference = synthetic.voronoi((32, 32), 6, seed=4)
    reference.save(tmp_path / "ref.npz")
    out = tmp_path / "grf"
    assert sample_ddpm.main(["--condition", str(tmp_path / "ref.npz"), "--grf-only", "--out", str(out), "--n", "3",
                             "--size", "32", "--global", "grf", "--grf-spectrum", "fixed", "--limit-to", "4"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["method"] == "grf" and summary["model_dir"] is None
    q = np.load(out / "sample_002.npy")
    assert q.shape == (32, 32, 4)
    np.testing.assert_allclose(np.linalg.norm(q, axis=-1), 1.0, atol=1e-9)
    # The field carries the reference's texture: its SHSH means, within the loss of the projection.
    assert summary["descriptor_errors"]["texture"]["ensemble_average_error"] < 0.5
    grains = summary["grain_metrics"]
    assert len(grains["errors"]) == 3 and grains["ensemble_errors"].keys() == grains["mean"].keys()
    assert grains["mean"]["grains_per_area_error"] == pytest.approx(np.mean([e["grains_per_area_error"]
                                                                             for e in grains["errors"]]))


def test_iaaft_only_rearranges_the_reference_orientations(tmp_path):
    """--grf-only with the IAAFT global part: every pixel carries one of REF's own
    orientations, each as often as in REF (same size), so the texture (SHSH means) is REF's."""
    reference = synthetic.voronoi((32, 32), 6, seed=4)
    reference.save(tmp_path / "ref.npz")
    out = tmp_path / "iaaft"
    assert sample_ddpm.main(["--condition", str(tmp_path / "ref.npz"), "--grf-only", "--out", str(out), "--n", "2",
                             "--size", "32", "--global", "iaaft", "--iaaft-iterations", "5", "--grain-threshold", "0",
                             "--limit-to", "4"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["method"] == "iaaft" and summary["iaaft_iterations"] == 5
    ref_rows = np.unique(reference.quaternions.reshape(-1, 4), axis=0, return_counts=True)
    for i in range(2):
        rows = np.unique(np.load(out / f"sample_{i:03d}.npy").reshape(-1, 4), axis=0, return_counts=True)
        np.testing.assert_array_equal(rows[0], ref_rows[0])
        np.testing.assert_array_equal(rows[1], ref_rows[1])
    assert summary["descriptor_errors"]["texture"]["ensemble_average_error"] < 1e-9
    assert summary["within_5_degrees_of_nearest_training_vector"] == 1.0
    # With the grain step (default) the orientations are still REF's own, one per grain.
    out = tmp_path / "grains"
    assert sample_ddpm.main(["--condition", str(tmp_path / "ref.npz"), "--grf-only", "--out", str(out), "--n", "1",
                             "--size", "32", "--global", "iaaft", "--iaaft-iterations", "5", "--limit-to", "4"]) == 0
    q = np.unique(np.load(out / "sample_000.npy").reshape(-1, 4), axis=0)
    assert len(q) <= len(ref_rows[0]) and all((ref_rows[0] == row).all(axis=1).any() for row in q)


def test_tessellation_only_has_the_reference_grains(tmp_path):
    """--grf-only --global tessellation: every sample pixel carries one of REF's own orientations,
    and the summary has the grain metrics of every sample."""
    reference = synthetic.voronoi((96, 96), 50, seed=2).crop((0, 64), (0, 64))
    reference.save(tmp_path / "ref.npz")
    out = tmp_path / "tessellation"
    assert sample_ddpm.main(["--condition", str(tmp_path / "ref.npz"), "--grf-only", "--global", "tessellation",
                             "--out", str(out), "--n", "4", "--size", "64", "--limit-to", "4"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["method"] == "tessellation"
    ref_rows = np.unique(reference.quaternions.reshape(-1, 4), axis=0)
    q = np.unique(np.load(out / "sample_003.npy").reshape(-1, 4), axis=0)
    assert all((ref_rows == row).all(axis=1).any() for row in q)
    assert len(summary["grain_metrics"]["samples"]) == 4


def test_condition_bad_input(tmp_path, capsys):
    synthetic.voronoi((8, 8), 2).save(tmp_path / "ref.npz")
    assert_input_errors([
        (sample_ddpm, ["--grf-only", "--out", str(tmp_path / "s")]),                        # no --condition
        (sample_ddpm, ["--condition", str(tmp_path / "ref.npz"), "--out", str(tmp_path / "s")]),  # no model
        (sample_ddpm, ["--condition", str(tmp_path / "missing.npz"), "--grf-only", "--out", str(tmp_path / "s")]),
        (sample_ddpm, ["--condition", str(tmp_path / "ref.npz"), "--grf-only", "--iaaft-iterations", "0",
                       "--out", str(tmp_path / "s")]),
        (sample_ddpm, ["--condition", str(tmp_path / "ref.npz"), "--grf-only", "--grain-threshold", "-1",
                       "--out", str(tmp_path / "s")]),
    ], capsys)


def test_exit_codes_for_bad_input(tmp_path, capsys):
    np.save(tmp_path / "q.npy", synthetic.voronoi((8, 8), 2).quaternions)
    bad = [
        (train_ddpm, [str(tmp_path / "missing.ang"), "--out", str(tmp_path / "m")]),
        (train_ddpm, [str(tmp_path / "q.npy"), "--out", str(tmp_path / "m")]),           # no --symmetry
        (train_ddpm, [str(tmp_path / "q.npy"), "--symmetry", "m-3m", "--out", str(tmp_path / "m"), *TINY]),
        (sample_ddpm, [str(tmp_path), "--out", str(tmp_path / "s")]),                     # not a model
    ]
    assert_input_errors(bad, capsys)


def assert_input_errors(cases, capsys):
    for module, argv in cases:
        assert module.main(argv) == 2
        message = capsys.readouterr().err.strip().splitlines()[-1]
        assert message.startswith(module.PROG + ": error: ")


@pytest.mark.slow
def test_sample_size_must_fit_the_unet(trained_dir, tmp_path, capsys):
    root, _ = trained_dir
    assert_input_errors([(sample_ddpm, [str(root / "model"), "--out", str(tmp_path / "s"), "--size", "15"]),
                         (sample_ddpm, [str(root / "model"), "--out", str(tmp_path / "s"), "--steps", "51"])],
                        capsys)


def test_internal_failure_exits_with_1(monkeypatch, tmp_path):
    def broken(args):
        raise RuntimeError("boom")

    monkeypatch.setattr(train_ddpm, "train", broken)
    assert train_ddpm.main([str(tmp_path / "x.npz"), "--out", str(tmp_path)]) == 1


@pytest.mark.slow
def test_training_maps_are_stored_with_the_model(trained_dir):
    root, _ = trained_dir
    stored = OrientationMap.load(root / "model" / "training_map_0.npz")
    np.testing.assert_array_equal(stored.quaternions, OrientationMap.load(root / "map.npz").quaternions)
