"""``batch-poly``: SPEC checks, two tiny jobs on a local 2-CPU Ray cluster and a rerun that skips
them, a failing job's row, and a worker killed mid-batch (its job resumed by the rerun)."""
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import mcrpy_poly
from mcrpy_poly import synthetic
from mcrpy_poly.batch import load_spec, run_job
from mcrpy_poly.cli.batch import main
from mcrpy_poly.errors import InputError

ray = pytest.importorskip("ray")
ROOT = Path(__file__).resolve().parents[1]
TINY = {"limit_to": 4, "levels": 1, "no_report": True, "checkpoint_every": 5}


def _spec(folder, inputs, shapes, seeds, max_iter, **options):
    import yaml

    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(dict(inputs=inputs, shapes=shapes, seeds=seeds, max_iter=max_iter,
                                        options={**TINY, **options})))
    return path


def _rows(out):
    with open(out / "results.csv", newline="") as fh:
        return {row["key"]: row for row in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def maps(tmp_path_factory):
    folder = tmp_path_factory.mktemp("batch_maps")
    mcrpy_poly.save_ang(folder / "tiny.ang", synthetic.voronoi((16, 16), 6, seed=2, step=0.5))
    return folder


@pytest.mark.parametrize("change, message", [
    (dict(inputs=["missing.ang"]), "missing.ang not found"),
    (dict(options={"seed": 3}), "set by the batch"),
    (dict(options={"optimizer": "newton"}), "invalid choice"),
    (dict(colour="red"), "unknown keys"),
])
def test_bad_specs_are_refused_in_one_line(maps, tmp_path, capsys, change, message):
    import yaml

    spec = {**dict(inputs=[str(maps / "tiny.ang")], shapes=[[16, 16]], seeds=[0], max_iter=5), **change}
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    with pytest.raises(InputError, match=message):
        load_spec(tmp_path / "spec.yaml")
    assert main([str(tmp_path / "spec.yaml"), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not (tmp_path / "out").exists()


def test_an_address_without_a_cluster_is_refused_at_once(maps, tmp_path, capsys):
    spec = _spec(tmp_path, [str(maps / "tiny.ang")], [[16, 16]], [0], 5)
    started = time.perf_counter()
    assert main([str(spec), "--out", str(tmp_path / "out"), "--address", "127.0.0.1:1", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no Ray cluster there" in err[0]
    assert time.perf_counter() - started < 30 and not (tmp_path / "out").exists()


def test_jobs_are_the_product_with_keys(maps, tmp_path):
    jobs = load_spec(_spec(tmp_path, [str(maps / "tiny.ang")], [[16, 16], [8, 8, 8]], [0, 3], 5))
    assert [job.key for job in jobs] == ["tiny_16x16_s0", "tiny_16x16_s3", "tiny_8x8x8_s0", "tiny_8x8x8_s3"]
    argv = jobs[2].argv(Path("o"), resume=True)
    assert argv[argv.index("--shape") + 1:argv.index("--shape") + 4] == ["8", "8", "8"]
    assert {"--no-report", "--resume", "--quiet"} <= set(argv) and argv[argv.index("--limit-to") + 1] == "4"


def test_two_tiny_jobs_on_a_local_cluster_then_a_rerun_skips_them(maps, tmp_path):
    spec = _spec(tmp_path, [str(maps / "tiny.ang")], [[16, 16]], [0, 1], 20)
    out = tmp_path / "out"
    assert main([str(spec), "--out", str(out), "--num-cpus", "2", "--quiet"]) == 0
    rows = _rows(out)
    assert sorted(rows) == ["tiny_16x16_s0", "tiny_16x16_s1"]
    for key, row in rows.items():
        assert row["status"] == "done" and row["exit_code"] == "0" and row["seed"] == key[-1]
        summary = json.loads((out / key / "summary.json").read_text())
        history = np.load(out / key / "loss_history.npy")
        assert len(history) == 20 and float(row["final_loss"]) == pytest.approx(history.min(), rel=1e-12)
        assert float(row["rel_err_variogram"]) == pytest.approx(summary["relative_errors"]["variogram"], rel=1e-12)
        assert int(row["n_grains"]) == len(np.load(out / key / "grain_orientations.npy"))
    assert rows["tiny_16x16_s0"]["final_loss"] != rows["tiny_16x16_s1"]["final_loss"]  # the seeds differ
    before = (out / "results.csv").read_text()
    finished = (out / "tiny_16x16_s0" / "summary.json").stat().st_mtime_ns
    started = time.perf_counter()
    assert main([str(spec), "--out", str(out), "--quiet"]) == 0
    assert time.perf_counter() - started < 10 and not ray.is_initialized()  # nothing to run, no cluster
    assert (out / "results.csv").read_text() == before
    assert (out / "tiny_16x16_s0" / "summary.json").stat().st_mtime_ns == finished


def test_a_failing_job_gives_a_row(maps, tmp_path):
    broken = tmp_path / "broken.ang"
    broken.write_text("# not an EBSD file\n")
    job = load_spec(_spec(tmp_path, [str(broken)], [[16, 16]], [0], 20))[0]
    row = run_job(job, str(tmp_path / "out"))
    assert row["status"] == "failed" and row["exit_code"] == 2 and "broken.ang" in row["error"]
    assert json.loads((tmp_path / "out" / job.key / "job.json").read_text())["status"] == "failed"


@pytest.mark.slow
def test_a_killed_worker_fails_its_job_and_the_rerun_resumes_it(maps, tmp_path):
    spec = _spec(tmp_path, [str(maps / "tiny.ang")], [[16, 16], [64, 64]], [0], 400)
    out = tmp_path / "out"
    command = [sys.executable, str(ROOT / "batch_poly.py"), str(spec), "--out", str(out), "--num-cpus", "2", "--quiet"]
    batch = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    small, large = out / "tiny_16x16_s0", out / "tiny_64x64_s0"
    deadline = time.time() + 400
    while not ((small / "summary.json").is_file() and (large / "checkpoint.npz").is_file()):
        assert batch.poll() is None and time.time() < deadline, "the large job finished or the batch stopped"
        time.sleep(0.2)
    from mcrpy_poly.reconstruction.checkpoint import load_checkpoint

    worker = json.loads((large / "job.json").read_text())["worker"]
    os.kill(int(worker.split(":")[1]), signal.SIGKILL)
    assert batch.wait(timeout=300) == 1
    rows = _rows(out)
    assert rows["tiny_64x64_s0"]["status"] == "failed" and rows["tiny_16x16_s0"]["status"] == "done"
    interrupted = load_checkpoint(large / "checkpoint.npz")
    finished = (small / "summary.json").stat().st_mtime_ns

    rerun = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert "--resume" in json.loads((large / "job.json").read_text())["argv"]
    history = np.load(large / "loss_history.npy")
    assert len(history) == 400
    np.testing.assert_array_equal(history[:len(interrupted.history)], interrupted.history)
    assert (small / "summary.json").stat().st_mtime_ns == finished
    assert {row["status"] for row in _rows(out).values()} == {"done"}
