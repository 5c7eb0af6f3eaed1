"""``batch-poly``: many reconstructions on Ray, the jobs of a SPEC file.

Usage::

    batch_poly.py SPEC.yaml --out DIR [--address ADDRESS] [--num-cpus N] [--quiet]

``SPEC.yaml`` lists ``inputs``, ``shapes``, ``seeds``, ``max_iter``, ``cpus_per_job`` and any other
``reconstruct-poly`` option under ``options`` (:mod:`mcrpy_poly.batch`). Each job writes
``DIR/<key>/`` as ``reconstruct-poly`` does and a row of ``DIR/results.csv``. Running the same
command again skips the finished jobs and resumes the others from their checkpoints.

Runs on an in-process local Ray cluster (``--num-cpus``, default all), or on a running cluster
given by ``--address`` (``ray start --head`` prints it; the package and the inputs must be
available on every node). Needs the ``batch`` extra (``pip install "mcrpy-poly[batch]"``).

Exit codes: 0 every job done, 1 some job failed (see ``results.csv``; rerun to retry) or an
internal error, 2 bad input (one-line message).
"""
from __future__ import annotations

import argparse
import sys

from ._common import EXIT_INTERNAL, run_command

PROG = "batch-poly"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Run the reconstructions of a SPEC file on Ray; resumable.")
    p.add_argument("spec", metavar="SPEC", help="YAML file: inputs, shapes, seeds, max_iter, options")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (DIR/<key>/, DIR/results.csv)")
    p.add_argument("--address", help="address of a running Ray cluster (default: a local one in this process)")
    p.add_argument("--num-cpus", type=int, metavar="N", help="CPUs of the local cluster (default: all)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def run(args) -> int:
    """Run the batch; returns 1 if a job failed, else 0 (bad input raises)."""
    from ..batch import load_spec, run_batch
    from ..errors import InputError

    if args.num_cpus is not None and args.num_cpus < 1:
        raise InputError("--num-cpus must be >= 1")
    load_spec(args.spec)  # bad SPEC: one line, before Ray starts
    try:
        import ray  # noqa: F401
    except ImportError:
        raise InputError("batch-poly needs Ray: pip install 'mcrpy-poly[batch]'") from None
    rows = run_batch(args.spec, args.out, address=args.address, num_cpus=args.num_cpus, progress=not args.quiet)
    failed = sorted(key for key, row in rows.items() if row["status"] != "done")
    print(f"{PROG}: {len(rows) - len(failed)} of {len(rows)} jobs done; results in {args.out}/results.csv")
    for key in failed:
        print(f"{PROG}: failed: {key}: {rows[key]['error']}", file=sys.stderr)
    return 1 if failed else 0


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code, failed = run_command(PROG, run, args)
        return failed if code == 0 else code
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; run the same command again to continue", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
