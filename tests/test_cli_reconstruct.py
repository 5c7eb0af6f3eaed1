"""``reconstruct_poly.py``: end to end on tiny maps, outputs, exit codes, nothing half-written."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import mcrpy_poly
from mcrpy_poly import synthetic
from mcrpy_poly.cli.reconstruct import main
from mcrpy_poly.orientation import OrientationMap

ROOT = Path(__file__).resolve().parents[1]
FAST = ["--max-iter", "12", "--limit-to", "4", "--levels", "1", "--quiet", "--no-report"]


@pytest.fixture(scope="module")
def tiny_ang(tmp_path_factory):
    path = tmp_path_factory.mktemp("maps") / "tiny.ang"
    mcrpy_poly.save_ang(path, synthetic.voronoi((16, 16), 6, seed=2, step=0.5))
    return path


def test_end_to_end_2d(tiny_ang, tmp_path):
    out = tmp_path / "run"
    assert main([str(tiny_ang), "--out", str(out), *FAST, "--export", "damask,abaqus,vtk"]) == 0
    assert not (out / "report").exists()
    summary = json.loads((out / "summary.json").read_text())
    for key in ("input", "shape", "symmetry", "settings", "initial_loss", "final_loss", "relative_errors",
                "timings", "versions"):
        assert key in summary
    assert summary["final_loss"] < summary["initial_loss"]
    assert set(summary["relative_errors"]) >= {"correlations", "variogram", "mean_variation", "texture"}
    assert summary["windows"] == {"correlations": 4, "variogram": 4, "chosen_from_map": False}  # --limit-to
    assert summary["periodic_targets"] == [False]  # an EBSD file is not periodic
    q = np.load(out / "reconstruction.npy")
    assert q.shape == (16, 16, 4)
    np.testing.assert_allclose(np.linalg.norm(q, axis=-1), 1.0, atol=1e-12)
    back = mcrpy_poly.load_ebsd(out / "reconstruction.ang")  # orix reads the .ang back
    assert back.shape == (16, 16) and back.step == (0.5, 0.5)
    angles = np.degrees(mcrpy_poly.orientation.quaternion.misorientation_angle(
        back.quaternions, q, back.symmetry.quaternions))
    assert angles.max() < 0.1
    assert (out / "characterization_input.npz").is_file() and (out / "characterization_result.npz").is_file()
    assert not (out / "checkpoint.npz").exists()
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # no staging folder left
    # grains and their exports (one layer of voxels for a 2D map)
    grain_ids, grain_q = np.load(out / "grain_ids.npy"), np.load(out / "grain_orientations.npy")
    assert grain_ids.dtype == np.int32 and grain_ids.shape == (16, 16) and grain_q.shape[1] == 4
    assert summary["grains"]["n_grains"] == len(grain_q) == grain_ids.max() + 1
    assert {"mean_equivalent_diameter", "speckle_fraction", "chord_mean_x", "chord_mean_y"} <= set(summary["grains"])
    assert summary["grains"]["periodic"] is True  # the RVE's grains, as grain_ids.npy holds them
    import damask

    assert len(damask.ConfigMaterial.load(out / "damask" / "material.yaml")["material"]) == len(grain_q)
    np.testing.assert_array_equal(damask.GeomGrid.load(out / "damask" / "grid.vti").material[:, :, 0], grain_ids.T)
    assert (out / "abaqus" / "rve.inp").read_text().count("*Elset") == len(grain_q)
    assert (out / "reconstruction.vti").is_file()


def test_windows_chosen_from_the_map_are_printed_and_recorded(tiny_ang, tmp_path, capsys):
    out = tmp_path / "run"
    assert main([str(tiny_ang), "--out", str(out), "--max-iter", "5", "--levels", "1", "--quiet",
                 "--no-report"]) == 0
    windows = json.loads((out / "summary.json").read_text())["windows"]
    # 6 grains on 16 x 16: the map would want at least 16; the 16 x 16 domain holds 8 (2 * 8 - 1 <= 16).
    assert windows["chosen_from_map"] and windows["correlations"] == windows["domain_cap"] == 8
    assert windows["variogram"] == 4 and windows["correlation_length_px"][0] > 1
    assert "lag windows correlations 8, variogram 4; chosen from the map" in capsys.readouterr().out
    saved = mcrpy_poly.load_characterization(out / "characterization_input.npz")
    assert saved.limit_to["correlations"] == 8 and saved.periodic is False
    assert mcrpy_poly.load_characterization(out / "characterization_result.npz").periodic is True


@pytest.mark.slow
def test_end_to_end_3d_from_npy(tmp_path):
    source = synthetic.voronoi((16, 16), 6, seed=5)
    npy = tmp_path / "map.npy"
    np.save(npy, source.quaternions * np.array([1.0, -1.0, -1.0, -1.0]))  # MCRpy convention
    out = tmp_path / "vol"
    code = main([str(npy), "--symmetry", "m-3m", "--convention", "mcrpy", "--shape", "8", "8", "8",
                 "--descriptors", "correlations", "mean_variation", "--out", str(out), *FAST])
    assert code == 0
    assert np.load(out / "reconstruction.npy").shape == (8, 8, 8, 4)
    assert (out / "reconstruction.vti").is_file() and (out / "reconstruction.dream3d").is_file()
    assert all((out / f"characterization_result_axis{a}.npz").is_file() for a in range(3))
    # The input characterization is that of the conjugated (orix) quaternions, non-periodic (a .npy map).
    expected = mcrpy_poly.characterize(source, descriptors=("correlations", "mean_variation", "texture"), limit_to=4,
                                       periodic=False)
    saved = mcrpy_poly.load_characterization(out / "characterization_input.npz")
    np.testing.assert_allclose(saved["correlations"], expected["correlations"], atol=1e-12)


def test_no_fit_fills_a_volume_with_the_map_grains(tmp_path):
    """``--fit none``: a 3D RVE from a 2D map in seconds; its voxels carry the map's own
    orientations, its grains are those of the map's Voronoi generator (chords as the map's
    boundary share per axis, np.roll), and the grain files describe the volume."""
    truth = synthetic.voronoi((64, 64), 40, "432", seed=8)  # periodic, random orientations
    truth.save(tmp_path / "map.npz")
    out = tmp_path / "rve"
    assert main([str(tmp_path / "map.npz"), "--out", str(out), "--fit", "none", "--shape", "32", "32", "32",
                 "--limit-to", "4", "--quiet", "--no-report", "--volume-format", "vti"]) == 0
    q = np.load(out / "reconstruction.npy")
    assert q.shape == (32, 32, 32, 4)
    known = {tuple(v) for v in np.round(truth.quaternions.reshape(-1, 4), 12)}
    assert {tuple(v) for v in np.round(q.reshape(-1, 4), 12)} <= known
    expected = np.mean([np.mean(np.any(truth.quaternions != np.roll(truth.quaternions, 1, axis=a), axis=-1))
                        for a in (0, 1)])
    for axis in range(3):
        assert abs(np.mean(np.any(q != np.roll(q, 1, axis=axis), axis=-1)) / expected - 1) < 0.15
    grain_ids = np.load(out / "grain_ids.npy")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["settings"]["fit"] == "none" and summary["grains"]["n_grains"] == grain_ids.max() + 1
    assert (out / "reconstruction.vti").is_file() and not (out / "checkpoint.npz").exists()


def _no_indexed_ang(path):
    omap = synthetic.voronoi((16, 16), 4)
    mcrpy_poly.save_ang(path, omap.replace(indexed=np.zeros((16, 16), bool)))
    return path


@pytest.mark.parametrize("case, argv, message", [
    ("small map", lambda d, ang: [str(ang), "--limit-to", "17", "--quiet"], "tiny.ang: map (16, 16) is too small"),
    ("no indexed pixels", lambda d, ang: [str(_no_indexed_ang(d / "empty.ang")), "--quiet"], "no indexed pixels"),
    ("too large", lambda d, ang: [str(ang), "--shape", "3000", "3000", "3000", "--limit-to", "4", "--quiet"], "GiB"),
    ("symmetry with ang", lambda d, ang: [str(ang), "--symmetry", "m-3m"], "--symmetry"),
    ("three inputs, 2D shape", lambda d, ang: [str(ang)] * 3 + ["--shape", "16", "16"], "3D --shape"),
    ("shape below window", lambda d, ang: [str(ang), "--shape", "6", "6", "--limit-to", "4"], "window"),
    ("resume without checkpoint", lambda d, ang: [str(ang), "--resume"], "checkpoint"),
    ("limit-to with a characterization", lambda d, ang: [str(mcrpy_poly.characterize(
        synthetic.voronoi((16, 16), 4), limit_to=4).save(d / "c.npz")), "--limit-to", "4"], "--limit-to conflicts"),
    ("weights vs descriptors", lambda d, ang: [str(ang), "--descriptors", "correlations", "--weights", "1", "2"],
     "--weights"),
    ("no fit, random start", lambda d, ang: [str(ang), "--fit", "none", "--start", "random"], "--fit none"),
    ("no fit from a characterization", lambda d, ang: [str(mcrpy_poly.characterize(
        synthetic.voronoi((16, 16), 4), limit_to=4).save(d / "c.npz")), "--fit", "none"], "needs the map"),
])
def test_bad_input_exits_2_with_one_line(tiny_ang, tmp_path, capsys, case, argv, message):
    out = tmp_path / "out"
    assert main([*argv(tmp_path, tiny_ang), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not out.exists()


def test_internal_error_exits_1(tiny_ang, tmp_path, monkeypatch):
    import mcrpy_poly.reconstruction as package

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(package, "reconstruct", broken)
    out = tmp_path / "out"
    assert main([str(tiny_ang), "--out", str(out), *FAST]) == 1
    assert not out.exists()


@pytest.mark.slow
def test_resume_finishes_an_interrupted_run(tiny_ang, tmp_path, monkeypatch):
    import mcrpy_poly.reconstruction.engine as engine

    out = tmp_path / "run"
    original = engine._Engine.after_evaluation

    def interrupt(self, run, loss):
        original(self, run, loss)
        if self.evaluations == 7:
            raise KeyboardInterrupt

    monkeypatch.setattr(engine._Engine, "after_evaluation", interrupt)
    assert main([str(tiny_ang), "--out", str(out), "--checkpoint-every", "5", *FAST]) == 1
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.npz"]  # only the whole checkpoint
    monkeypatch.setattr(engine._Engine, "after_evaluation", original)
    assert main([str(tiny_ang), "--out", str(out), "--checkpoint-every", "5", "--resume", *FAST]) == 0
    assert len(np.load(out / "loss_history.npy")) == 12
    assert OrientationMap.load(out / "orientations.npz").shape == (16, 16)


@pytest.mark.slow
def test_top_level_script_writes_the_report(tiny_ang, tmp_path):
    out = tmp_path / "script"
    argv = [a for a in FAST if a != "--no-report"]
    done = subprocess.run([sys.executable, str(ROOT / "reconstruct_poly.py"), str(tiny_ang), "--out", str(out),
                           *argv], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert (out / "report" / "report.html").is_file()
    assert "report_error" not in json.loads((out / "summary.json").read_text())
