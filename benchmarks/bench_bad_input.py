"""Bad input through the real command (issue 12): exit code, stderr lines and seconds per case.

Run: ``python benchmarks/bench_bad_input.py [--out benchmarks/results/bad_input.md]``. Every case
runs ``reconstruct_poly.py`` in a fresh interpreter (as a user would); the files are written
here. Baselines measured in the same run: the interpreter alone, ``import tensorflow`` (what
every run paid before its input was checked) and the orix import that reading a map costs.
A few damaged-but-readable files are run to the end on a tiny budget (exit 0, with their one
warning). Last, the price of reading rows ourselves: a 1000 x 1000 ``.ang`` read by ``load_ebsd``
against ``orix.io.load``, in one process, best of two. The load average is printed: other jobs
on the two cores inflate wall times.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
TINY = ["--max-iter", "2", "--levels", "1", "--limit-to", "2", "--no-report", "--quiet"]


def make_files(d: Path) -> dict:
    """Every input of the matrix, written into ``d``; returns name -> command-line arguments."""
    from ebsd_text_files import ang_text, ctf_text, random_euler

    euler = random_euler((16, 16), seed=3)
    good = ang_text(euler, step=(0.5, 0.5))
    lines = good.splitlines()
    first = next(i for i, line in enumerate(lines) if not line.startswith("#"))

    def write(name, text):
        (d / name).write_text(text)
        return str(d / name)

    rows = lines[first:]
    shuffled = [rows[i] for i in np.random.default_rng(0).permutation(len(rows))]
    nan = list(lines)
    nan[first + 5] = "NaN " + nan[first + 5].split(" ", 1)[1]
    unindexed = [" ".join(f if i != 6 else "-1.000" for i, f in enumerate(row.split())) for row in rows]
    np.save(d / "wrong_shape.npy", np.zeros((16, 16, 3)))
    np.save(d / "hostile.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    (d / "hostile.pickle").write_bytes(b"\x80\x04cos\nsystem\n.")
    np.savez(d / "other.npz", metadata='{"format": "someone else\'s"}')
    (d / "a_file").write_text("")
    (d / "ckpt" / "checkpoint.npz").mkdir(parents=True)
    out = str(d / "out")
    cases = {
        "missing file": [str(d / "nope.ang")],
        "empty file": [write("empty.ang", "")],
        "header only": [write("header_only.ang", "\n".join(lines[:first]) + "\n")],
        "truncated inside a row": [write("cut_row.ang", good[: len(good) - 25])],
        "truncated at a row boundary": [write("cut.ang", "\n".join(lines[:-32]) + "\n")],
        "no indexed pixels": [write("unindexed.ang", "\n".join(lines[:first] + unindexed) + "\n")],
        "NaN angles": [write("nan.ang", "\n".join(nan) + "\n")],
        "unknown symmetry": [write("sym.ang", ang_text(euler, symmetry="99"))],
        "hexagonal grid": [write("hex.ang", ang_text(euler, grid="HexGrid"))],
        "3 x 3 map": [write("small.ang", ang_text(random_euler((3, 3), seed=1)))],
        "shape beyond memory": [write("good.ang", good), "--shape", "5000", "5000", "5000", "--limit-to", "4"],
        "wrong .npy shape": [str(d / "wrong_shape.npy"), "--symmetry", "m-3m"],
        "pickle inside .npy": [str(d / "hostile.npy"), "--symmetry", "m-3m"],
        "pickle file": [str(d / "hostile.pickle")],
        "--out under a file": [str(d / "good.ang"), "--out", str(d / "a_file" / "run")],
        "--out not writable": [str(d / "good.ang"), "--out", "/proc/mcrpy_poly_run"],
        "checkpoint path is a folder": [str(d / "good.ang"), "--out", str(d / "ckpt")],
        "unknown descriptor": [str(d / "good.ang"), "--descriptors", "grains", "--limit-to", "4"],
        "broken .npz": [write("broken.npz", "PK not a zip")],
        "characterization of another format": [str(d / "other.npz")],
        "rows shuffled (accepted)": [write("shuffled.ang", "\n".join(lines[:first] + shuffled) + "\n"), *TINY],
        "header of another grid (accepted)": [write("subsample.ang", ang_text(
            euler, step=(0.4, 0.4), header=(140, 160, 0.1, 0.1))), *TINY],
        "decimal commas, .ctf (accepted)": [write("commas.ctf", ctf_text(np.degrees(euler), step=(0.5, 0.5),
                                                                          comma=True)), *TINY],
    }
    return {name: [*argv, *([] if "--out" in argv else ["--out", out])] for name, argv in cases.items()}


def timed(argv, env) -> tuple:
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=ROOT, timeout=900)
    return done, time.perf_counter() - started


def large_map_reading(d: Path) -> list:
    """Markdown rows: seconds to read a 1000 x 1000 ``.ang`` with ``load_ebsd`` and with orix."""
    import contextlib
    import io
    import warnings

    from ebsd_text_files import ang_text, random_euler
    from orix import io as orix_io

    from mcrpy_poly import load_ebsd

    path = d / "large.ang"
    path.write_text(ang_text(random_euler((1000, 1000), seed=1, n_grains=50)))
    rows = []
    for name, read in [("load_ebsd (rows placed by x, y)", lambda: load_ebsd(path)),
                       ("orix.io.load", lambda: orix_io.load(str(path)))]:
        best = np.inf
        for _ in range(2):
            started = time.perf_counter()
            with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
                warnings.simplefilter("ignore")
                read()
            best = min(best, time.perf_counter() - started)
        rows.append(f"| {name} | {best:.2f} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="also write the Markdown table here")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # the commands must silence TensorFlow themselves
    load = os.getloadavg()[0]
    lines = [f"Load average at the start: {load:.1f} (2 cores).", "",
             "| baseline (fresh interpreter) | seconds |", "|---|---|"]
    for name, code in [("python -c pass", "pass"), ("import orix's Rotation", "from orix.quaternion import Rotation"),
                       ("import tensorflow", "import tensorflow")]:
        _, seconds = timed([sys.executable, "-c", code], env)
        lines.append(f"| {name} | {seconds:.2f} |")
    lines += ["", "| input | exit code | stderr lines | seconds | stderr (first line) |", "|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for name, argv in make_files(Path(tmp)).items():
            done, seconds = timed([sys.executable, str(ROOT / "reconstruct_poly.py"), *argv], env)
            err = done.stderr.strip().splitlines()
            message = (err[0] if err else "").replace(tmp, "DIR").replace("|", "\\|")
            message = message if len(message) <= 150 else message[:147] + "..."
            lines.append(f"| {name} | {done.returncode} | {len(err)} | {seconds:.2f} | `{message}` |")
            print(lines[-1], flush=True)
        lines += ["", "| reading a 1000 x 1000 .ang (10^6 rows, in one process, best of 2) | seconds |", "|---|---|",
                  *large_map_reading(Path(tmp))]
    lines.append(f"\nLoad average at the end: {os.getloadavg()[0]:.1f}.")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out is not None:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
