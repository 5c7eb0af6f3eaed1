"""Batches of reconstructions on Ray: the jobs of a SPEC file, each one ``reconstruct-poly`` run.

A SPEC (YAML) names the inputs, shapes, seeds and the evaluation budget; the jobs are their
product::

    inputs: [example_data/cubic_voronoi_64x64.ang, example_data/hexagonal_fibre_64x64.ang]
    shapes: [[16, 16], [24, 24]]   # optional: each input's own shape
    seeds: [0, 1]                  # optional: [0]
    max_iter: 30
    cpus_per_job: 1                # optional: 1 (CPUs Ray reserves for a job; TensorFlow's thread pools)
    options:                       # optional: any other reconstruct-poly option by its long name
      limit_to: 8
      no_report: true
      export: damask,abaqus

Relative input paths are read from the SPEC's folder. Each job runs the command's own
:func:`mcrpy_poly.cli.reconstruct.main` in a Ray worker with ``--out DIR/<key>`` (``key`` =
``<input stem>_<H>x<W>[x<D>]_s<seed>``, or ``..._native_s<seed>`` without shapes);
``DIR/<key>/job.json`` says which worker (host:pid) runs it, with which arguments, and how it
ended. Its metrics become one row of ``DIR/results.csv`` (key, input, shape, seed, status, exit
code, error, initial and final loss, relative errors ``rel_err_<name>``, the grain metrics of
``summary.json``: ``n_grains``, ``mean_equivalent_diameter``, ``chord_mean_<axis>``, ...,
``grain_threshold``, ``grain_min_size``; wall time, worker), rewritten atomically after every job.

A job's failure (bad input, an exception, a worker that died) is recorded in its row and does
not stop the others. Running the same SPEC again skips the finished jobs (``DIR/<key>/summary.json``
exists) and reruns the rest, continuing interrupted ones from their checkpoints (``--resume``).
"""
from __future__ import annotations

import contextlib
import csv
import io
import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from .atomic import atomic_path, save_json
from .errors import InputError

#: Columns that lead every row of ``results.csv``; relative errors and grain metrics follow.
LEADING_COLUMNS = ("key", "input", "shape", "seed", "status", "exit_code", "error", "initial_loss", "final_loss")
TRAILING_COLUMNS = ("wall_s", "worker")
#: Options the batch sets itself.
_RESERVED = {"out", "shape", "seed", "seeds", "max_iter", "resume", "quiet", "inputs"}
_SPEC_KEYS = {"inputs", "shapes", "seeds", "max_iter", "cpus_per_job", "options"}
CHECKPOINT = "checkpoint.npz"
#: Written into ``DIR/<key>/`` when a job starts and when it ends: status, worker (host:pid), arguments.
JOB_FILE = "job.json"


@dataclass(frozen=True)
class Job:
    """One reconstruction of a batch.

    Attributes
    ----------
    key : str
        Name of its output folder and row.
    input : str
        Absolute path of the input file.
    shape : tuple of int or None
        Reconstruction shape (``None``: the input's).
    seed : int
    max_iter : int
    options : tuple of str
        Further ``reconstruct-poly`` arguments.
    cpus : int
        CPUs reserved for it.
    """

    key: str
    input: str
    shape: tuple | None
    seed: int
    max_iter: int
    options: tuple = field(default_factory=tuple)
    cpus: int = 1

    def argv(self, out: Path, resume: bool) -> list:
        """The ``reconstruct-poly`` arguments of this job writing to ``out``."""
        shape = [] if self.shape is None else ["--shape", *map(str, self.shape)]
        return [self.input, "--out", str(out), *shape, "--seed", str(self.seed), "--max-iter", str(self.max_iter),
                "--quiet", *self.options, *(["--resume"] if resume else [])]

    def row(self, **values) -> dict:
        """A ``results.csv`` row of this job."""
        shape = "native" if self.shape is None else "x".join(map(str, self.shape))
        return dict(key=self.key, input=self.input, shape=shape, seed=self.seed, **values)


def _option_arguments(options: dict) -> list:
    """``{"limit_to": 8, "no_report": True}`` -> ``["--limit-to", "8", "--no-report"]``."""
    arguments = []
    for name, value in options.items():
        flag = "--" + str(name).replace("_", "-")
        if value is True:
            arguments.append(flag)
        elif value is False or value is None:
            continue
        elif isinstance(value, list | tuple):
            arguments.extend([flag, *map(str, value)])
        else:
            arguments.extend([flag, str(value)])
    return arguments


def load_spec(path) -> list[Job]:
    """The jobs of a SPEC file (module docstring), checked against the command's parser.

    Raises
    ------
    InputError
        A missing file, bad YAML, an unknown or reserved key, a missing input, an option the
        command refuses, two jobs with one key.
    """
    import yaml

    from .cli.reconstruct import build_parser

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such SPEC file")
    try:
        spec = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(spec, dict) or not spec.get("inputs") or "max_iter" not in spec:
        raise InputError(f"{path}: a SPEC is a mapping with at least 'inputs' and 'max_iter'")
    unknown = sorted(set(spec) - _SPEC_KEYS)
    if unknown:
        raise InputError(f"{path}: unknown keys {unknown}; a SPEC has {sorted(_SPEC_KEYS)}")
    options = spec.get("options") or {}
    reserved = sorted(set(options) & _RESERVED)
    if reserved:
        raise InputError(f"{path}: options {reserved} are set by the batch (use inputs, shapes, seeds, max_iter)")
    arguments = _option_arguments(options)
    inputs = spec["inputs"] if isinstance(spec["inputs"], list) else [spec["inputs"]]
    shapes = [tuple(int(n) for n in s) for s in spec["shapes"]] if spec.get("shapes") else [None]
    seeds = [int(s) for s in spec.get("seeds", [0])]
    jobs = {}
    for name in inputs:
        source = (path.parent / str(name)).resolve()
        if not source.is_file():
            raise InputError(f"{path}: input {name} not found (relative paths start at the SPEC's folder)")
        for shape in shapes:
            for seed in seeds:
                label = "native" if shape is None else "x".join(map(str, shape))
                job = Job(f"{source.stem}_{label}_s{seed}", str(source), shape, seed, int(spec["max_iter"]),
                          tuple(arguments), int(spec.get("cpus_per_job", 1)))
                if job.key in jobs:
                    raise InputError(f"{path}: two jobs named {job.key} (inputs with one file name?)")
                jobs[job.key] = job
    first = next(iter(jobs.values()))
    message = io.StringIO()
    try:
        with contextlib.redirect_stderr(message):
            build_parser().parse_args(first.argv(Path("out"), resume=False))
    except SystemExit:
        raise InputError(f"{path}: options: {message.getvalue().strip().splitlines()[-1]}") from None
    return list(jobs.values())


def summary_row(summary: dict) -> dict:
    """The metrics of a finished run's ``summary.json`` as ``results.csv`` columns."""
    row = dict(initial_loss=summary.get("initial_loss"), final_loss=summary.get("final_loss"))
    row.update({f"rel_err_{name}": value for name, value in summary.get("relative_errors", {}).items()})
    row.update({name if "grain" in name else f"grain_{name}": value
                for name, value in summary.get("grains", {}).items()})
    return row


def run_job(job: Job, root: str) -> dict:
    """Run one job (in a Ray worker): ``reconstruct-poly`` into ``root/<key>``, resuming from its
    checkpoint if there is one; returns its ``results.csv`` row."""
    import json

    from .cli.reconstruct import main

    out = Path(root) / job.key
    argv = job.argv(out, resume=(out / CHECKPOINT).is_file())
    worker = f"{socket.gethostname()}:{os.getpid()}"
    save_json(out / JOB_FILE, dict(status="running", worker=worker, argv=argv, started=time.time()))
    started = time.perf_counter()
    captured = io.StringIO()
    with contextlib.redirect_stderr(captured):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse
            code = exc.code if isinstance(exc.code, int) else 2
    wall = time.perf_counter() - started
    lines = [line for line in captured.getvalue().splitlines() if line.strip()]
    row = job.row(status="done" if code == 0 else "failed", exit_code=code,
                  error="" if code == 0 else (lines[-1] if lines else f"exit code {code}"))
    if code == 0:
        row.update(summary_row(json.loads((out / "summary.json").read_text())))
    row.update(wall_s=round(wall, 3), worker=worker)
    save_json(out / JOB_FILE, dict(status=row["status"], worker=worker, argv=argv, wall_s=row["wall_s"],
                                   error=row["error"]))
    return row


def read_results(path) -> dict:
    """Rows of an existing ``results.csv`` by key (empty if there is none)."""
    path = Path(path)
    if not path.is_file():
        return {}
    with open(path, newline="") as fh:
        return {row["key"]: row for row in csv.DictReader(fh)}


def write_results(path, rows: dict) -> Path:
    """Write ``results.csv`` atomically: one row per key (sorted), the leading columns, then
    the relative errors and grain metrics found in any row, then wall time and worker."""
    middle = sorted({c for row in rows.values() for c in row} - set(LEADING_COLUMNS) - set(TRAILING_COLUMNS))
    columns = [*LEADING_COLUMNS, *middle, *TRAILING_COLUMNS]
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, columns, restval="")
        writer.writeheader()
        for key in sorted(rows):
            writer.writerow(rows[key])
    return Path(path)


def run_batch(spec, out, address: str | None = None, num_cpus: int | None = None, progress: bool = True) -> dict:
    """Run the jobs of ``spec`` on Ray; returns the rows of ``out/results.csv`` by key.

    Parameters
    ----------
    spec : str or Path
        The SPEC file.
    out : str or Path
        Output folder (``out/<key>/`` per job, ``out/results.csv``).
    address : str, optional
        Address of a running Ray cluster (``ray start --head`` prints it; ``"auto"`` finds a local
        one). Default: an in-process local cluster, or the Ray session already initialised.
    num_cpus : int, optional
        CPUs of the local cluster (default: all); ignored with ``address``.
    progress : bool
        A progress bar over jobs.
    """
    import json

    jobs = load_spec(spec)
    out = Path(out).resolve()
    rows = read_results(out / "results.csv")
    todo = []
    for job in jobs:
        summary = out / job.key / "summary.json"
        if summary.is_file():  # finished; its row may be missing if the batch stopped right after it
            if rows.get(job.key, {}).get("status") != "done":
                rows[job.key] = job.row(status="done", exit_code=0, error="",
                                        **summary_row(json.loads(summary.read_text())))
        else:
            todo.append(job)
    rows = {key: row for key, row in rows.items() if key in {job.key for job in jobs}}
    if not todo:
        write_results(out / "results.csv", rows)
        return rows
    with _ray_session(address, num_cpus) as ray:  # before anything is written: a bad --address writes nothing
        out.mkdir(parents=True, exist_ok=True)
        write_results(out / "results.csv", rows)
        task = ray.remote(run_job)
        pending = {}
        for job in todo:
            threads = {"TF_NUM_INTRAOP_THREADS": str(job.cpus), "TF_NUM_INTEROP_THREADS": str(job.cpus),
                       "OMP_NUM_THREADS": str(job.cpus)}
            ref = task.options(num_cpus=job.cpus, max_retries=0,
                               runtime_env={"env_vars": threads}).remote(job, str(out))
            pending[ref] = job
        failed = 0
        with tqdm(total=len(jobs), initial=len(jobs) - len(todo), unit="job", disable=not progress,
                  desc="batch") as bar:
            while pending:
                (ref,), _ = ray.wait(list(pending), num_returns=1)
                job = pending.pop(ref)
                try:
                    row = ray.get(ref)
                except (ray.exceptions.RayError, OSError) as exc:  # the worker died, or Ray lost the task
                    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                    row = job.row(status="failed", exit_code="", error=f"{type(exc).__name__}: {first}")
                rows[job.key] = row
                failed += row["status"] != "done"
                write_results(out / "results.csv", rows)
                bar.set_postfix(failed=failed)
                bar.update()
    return rows


@contextlib.contextmanager
def _ray_session(address, num_cpus):
    """The ``ray`` module, initialised: the session already running in this process, else a
    new local cluster (``num_cpus``) or a connection to ``address``, shut down at the end."""
    import logging

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    if ray.is_initialized():
        yield ray
        return
    _check_reachable(address)
    try:
        ray.init(address=address, num_cpus=None if address else num_cpus, include_dashboard=False,
                 log_to_driver=False, logging_level=logging.ERROR, configure_logging=True)
    except (ConnectionError, ValueError) as exc:  # no cluster at that address
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"--address {address}: no Ray cluster to join ({first})") from None
    try:
        yield ray
    finally:
        ray.shutdown()


def _check_reachable(address) -> None:
    """Refuse a ``host:port`` address where nothing listens, at once (Ray itself retries for minutes)."""
    if not address or address == "auto" or "://" in address or ":" not in address:
        return
    host, port = address.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except (OSError, ValueError) as exc:
        raise InputError(f"--address {address}: no Ray cluster there ({exc})") from None
