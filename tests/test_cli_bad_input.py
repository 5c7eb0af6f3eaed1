"""Bad input on the command line (issue 12): one line on stderr, exit 2, checked before
TensorFlow is imported; TensorFlow's start-up output silenced; every stage shown."""
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from ebsd_text_files import ang_text, random_euler

import mcrpy_poly
from mcrpy_poly import synthetic
from mcrpy_poly.cli.reconstruct import main

ROOT = Path(__file__).resolve().parents[1]
FAST = ["--max-iter", "8", "--limit-to", "4", "--levels", "1", "--quiet", "--no-report"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    euler = random_euler((16, 16), seed=3)
    (d / "good.ang").write_text(ang_text(euler))
    (d / "hex.ang").write_text(ang_text(euler, grid="HexGrid"))
    lines = ang_text(euler).splitlines()
    lines[-3] = "nan " + lines[-3].split(" ", 1)[1]
    (d / "nan.ang").write_text("\n".join(lines) + "\n")
    (d / "a_file").write_text("")
    (d / "garbage.npz").write_bytes(b"PK not really a zip")
    np.savez(d / "other_format.npz", metadata=json.dumps({"format": "someone else's"}))
    return d


def _cases(d):
    good = str(d / "good.ang")
    return {
        "missing file": ([str(d / "nope.ang"), "--out", str(d / "o")], "nope.ang: no such file"),
        "out under a file": ([good, "--out", str(d / "a_file" / "run")], "a_file is a file, not a folder"),
        "out not writable": ([good, "--out", "/proc/mcrpy_poly_run"], "cannot write in /proc"),
        "checkpoint is a folder": ([good, "--out", str(d / "with_ckpt_dir")], "checkpoint"),
        "hexagonal grid": ([str(d / "hex.ang"), "--out", str(d / "o")], "hexagonal grid"),
        "NaN angles": ([str(d / "nan.ang"), "--out", str(d / "o")], "nan.ang: NaN or infinite Euler angle"),
        "map below the window": ([good, "--out", str(d / "o"), "--limit-to", "20"],
                                 "good.ang: map (16, 16) is too small"),
        "beyond memory": ([good, "--out", str(d / "o"), "--limit-to", "4", "--shape", "5000", "5000", "5000"],
                          "GiB"),
        "unknown descriptor": ([good, "--out", str(d / "o"), "--limit-to", "4", "--descriptors", "grains"],
                               "unknown descriptor"),
        "not an npz": ([str(d / "garbage.npz"), "--out", str(d / "o")], "garbage.npz: not an OrientationMap"),
    }


def test_bad_inputs_are_refused_before_tensorflow(files):
    """One interpreter runs every case; TensorFlow must never have been imported."""
    (files / "with_ckpt_dir" / "checkpoint.npz").mkdir(parents=True)
    cases = {name: argv for name, (argv, _) in _cases(files).items()}
    good = str(files / "good.ang")
    cases["evaluate: missing candidate"] = [good, str(files / "gone.npy"), "--symmetry", "m-3m", "--out",
                                            str(files / "o")]
    cases["evaluate: --out under a file"] = [good, good, "--out", str(files / "a_file" / "report")]
    script = textwrap.dedent(f"""
        import contextlib, io, json, sys, time
        from mcrpy_poly.cli import evaluate, reconstruct
        results = {{}}
        for name, argv in {cases!r}.items():
            err = io.StringIO()
            started = time.perf_counter()
            with contextlib.redirect_stderr(err):
                code = (evaluate if name.startswith("evaluate") else reconstruct).main(argv)
            results[name] = [code, err.getvalue().strip().splitlines(), time.perf_counter() - started]
        print(json.dumps({{"results": results, "tensorflow": "tensorflow" in sys.modules}}))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    expected = {name: message for name, (_, message) in _cases(files).items()}
    expected.update({"evaluate: missing candidate": "gone.npy: no such file",
                     "evaluate: --out under a file": "a_file is a file, not a folder"})
    for name, message in expected.items():
        code, lines, _ = report["results"][name]
        assert code == 2 and len(lines) == 1 and message in lines[0], (name, lines)
    assert report["tensorflow"] is False
    assert not (files / "o").exists()


def test_tensorflow_start_is_silent(files, tmp_path):
    """A bad input found after TensorFlow started (a characterization of another format): the
    command's stderr, file descriptor and all, holds exactly one line."""
    done = subprocess.run([sys.executable, str(ROOT / "reconstruct_poly.py"), str(files / "other_format.npz"),
                           "--out", str(tmp_path / "o")], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [done.stderr.strip()], done.stderr
    assert "other_format.npz: not a mcrpy_poly characterization" in done.stderr


def test_stages_headline_and_report_note(tmp_path, capsys):
    """Every stage has its line; the headline goes from the loss curve's first value to the result's; a
    characterization as INPUT says why there is no report."""
    source = synthetic.voronoi((16, 16), 5, seed=4)
    ang = mcrpy_poly.save_ang(tmp_path / "m.ang", source)
    out = tmp_path / "run"
    argv = [a for a in FAST if a not in ("--quiet", "--no-report")]
    assert main([str(ang), "--out", str(out), "--no-report", *argv]) == 0
    captured = capsys.readouterr()
    for stage in ("[1/4] load", "[2/4] characterize", "[3/4] reconstruct", "[4/4] write outputs", "done in"):
        assert stage in captured.err, captured.err
    history = np.load(out / "loss_history.npy")
    summary = json.loads((out / "summary.json").read_text())
    assert f"loss {history[0]:.3e} -> {summary['final_loss']:.3e}" in captured.out
    assert "semivariogram" in summary["relative_errors_definition"]
    characterization = mcrpy_poly.characterize(source, limit_to=4).save(tmp_path / "c.npz")
    argv = [a for a in argv if a not in ("--limit-to", "4")]
    assert main([str(characterization), "--out", str(tmp_path / "from_c"), *argv]) == 0
    assert "note: no evaluation report" in capsys.readouterr().err


def test_tnc_runs_without_solver_warnings(tmp_path, capsys):
    source = synthetic.voronoi((16, 16), 5, seed=4)
    ang = mcrpy_poly.save_ang(tmp_path / "m.ang", source)
    assert main([str(ang), "--out", str(tmp_path / "tnc"), "--optimizer", "tnc", *FAST]) == 0
    assert "solver options" not in capsys.readouterr().err


def test_warnings_are_one_line_each(tmp_path, capsys):
    """A header of another grid is read with one warning: one line on stderr."""
    euler = random_euler((16, 16), seed=3)
    (tmp_path / "sub.ang").write_text(ang_text(euler, step=(0.4, 0.4), header=(140, 160, 0.1, 0.1)))
    assert main([str(tmp_path / "sub.ang"), "--out", str(tmp_path / "o"), "--shape", "5000", "5000", "5000",
                 "--limit-to", "4"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and err[0].startswith("reconstruct-poly: warning: ") and "140 x 160" in err[0], err
    assert err[1].startswith("reconstruct-poly: error: ")


def test_budget_defaults_match_the_descriptors():
    """The budget repeats two defaults so that it runs without TensorFlow; they must agree."""
    from mcrpy_poly.descriptors import DEFAULT_LIMIT_TO, variogram_lags
    from mcrpy_poly.reconstruction import budget
    from mcrpy_poly.reconstruction.loss import DEFAULT_DESCRIPTORS

    assert budget.DEFAULT_WINDOWS == DEFAULT_LIMIT_TO
    from mcrpy_poly.cli.reconstruct import CHARACTERIZATION_FORMAT
    from mcrpy_poly.descriptors.characterization import _FORMAT

    assert CHARACTERIZATION_FORMAT == _FORMAT
    assert budget.LOSS_DESCRIPTORS == DEFAULT_DESCRIPTORS
    for ndim, limit in [(2, 4), (3, 3), (2, 1)]:  # the lag count the estimate uses
        with_lags = budget.estimate_bytes((8,) * ndim, 1, ["variogram"], {"variogram": limit}, 1, False)
        without = budget.estimate_bytes((8,) * ndim, 1, [], {}, 1, False)
        assert (with_lags - without) // (8 * 8 ** ndim * 6) == len(variogram_lags(ndim, limit))


def test_unknown_symmetry_option_lists_only_real_names(tmp_path, capsys):
    np.save(tmp_path / "q.npy", synthetic.voronoi((8, 8), 3).quaternions)
    assert main([str(tmp_path / "q.npy"), "--symmetry", "xyz", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "unknown crystal symmetry 'xyz'; known point groups: -1, " in err and ", ," not in err, err


def test_characterization_without_the_variogram_is_reconstructed(tmp_path):
    """A saved characterization holding only some default descriptors: the loss takes those."""
    source = synthetic.voronoi((16, 16), 5, seed=4)
    saved = mcrpy_poly.characterize(source, descriptors=("correlations", "texture"), limit_to=4).save(
        tmp_path / "c.npz")
    out = tmp_path / "run"
    assert main([str(saved), "--out", str(out), "--max-iter", "4", "--levels", "1", "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["settings"]["descriptors"] == ["correlations", "texture"]
