"""``reconstruct-poly``: statistically equivalent 2D maps and 3D volumes from an EBSD map.

Usage::

    reconstruct_poly.py INPUT [INPUT INPUT] --out DIR [--phase NAME] [--shape H W [D]]
        [--descriptors correlations variogram mean_variation] [--weights 1 3 0.1] [--limit-to N]
        [--optimizer lbfgsb|tnc|adam|sgd|tfp-lbfgs] [--max-iter N] [--start grains|random] [--levels L]
        [--fit descriptors|none]
        [--seeds K] [--seed S]
        [--resume] [--symmetry m-3m] [--convention orix|mcrpy] [--volume-format vti dream3d]
        [--export damask,abaqus,dream3d,vtk] [--abaqus-periodic]

``INPUT`` is an EBSD file (``.ang``, ``.ctf``, ``.h5``), a saved characterization (``.npz``
from ``Characterization.save``), an OrientationMap ``.npz`` or a ``.npy`` quaternion map (with
``--symmetry`` and ``--convention``). Three 2D inputs with a 3D ``--shape`` are the sections normal to axes 0, 1
and 2 (2D -> 3D with one target per axis); one 2D input with a 3D shape is used for all three.

Writes into ``DIR``: ``reconstruction.npy`` (orix quaternions), ``orientations.npz``,
``grain_ids.npy`` / ``grain_orientations.npy`` (the grains, one orientation each),
``reconstruction.ang`` (2D) or ``reconstruction.vti`` / ``reconstruction.dream3d`` (3D, with FeatureIds),
``damask/grid.vti`` + ``damask/material.yaml`` and ``abaqus/rve.inp`` with ``--export``,
``characterization_input*.npz`` and ``characterization_result*.npz``, ``loss_history.npy``,
``summary.json`` and ``report/`` (evaluation report, when the input is a map, unless
``--no-report``; should the report fail, the reconstruction is still written and
``summary.json`` holds ``report_error``). Files appear
whole or not at all; ``DIR/checkpoint.npz`` is kept while a run is unfinished, for ``--resume``.

``--fit none`` skips the descriptor fit: the grain start's tessellation (the map's boundary share
per axis and grains per area) is filled with the map's own grains (:mod:`mcrpy_poly.grain_field`),
a statistically equivalent RVE with the map's grain sizes, texture and boundary misorientations in
seconds (3D 64^3 from a map: about 4 s), its correlations those of an independent sample of the
map's, not fitted to them.

The correlation window is chosen from the input map unless ``--limit-to`` is given (large
enough to see its grains, capped by the map, the domain and the memory:
:mod:`mcrpy_poly.descriptors.window`); the chosen windows are printed and recorded in
``summary.json`` (``windows``). A map's statistics are non-periodic unless it says it is periodic
(an OrientationMap ``.npz`` of a synthetic map); the reconstruction's own are periodic.

The options, every path the run writes, the inputs, the descriptor windows and the memory
estimate are checked before TensorFlow is imported (quietly); then the stages (load,
characterize, reconstruct, grain stage, write outputs) are shown with the time left in all.

Exit codes: 0 success, 2 bad input (one-line message), 1 internal error.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ._common import import_tensorflow
from .stages import StageProgress

PROG = "reconstruct-poly"
CHECKPOINT = "checkpoint.npz"
#: Loss evaluations per seed by dimension: a 3D evaluation costs a volume's slices (64^3 with the
#: grain-structured start: about 1 s on 2 cores), and fitting grain orientations needs fewer of them.
DEFAULT_MAX_ITER = {2: 1000, 3: 500}
#: Grain metrics (:mod:`mcrpy_poly.evaluate.grain_metrics`) in ``summary.json["grains"]``.
SUMMARY_GRAIN_KEYS = ("n_grains", "grains_per_area", "mean_equivalent_diameter", "speckle_fraction",
                      "chord_mean_y", "chord_mean_x", "chord_mean_z", "threshold", "min_size", "periodic")
#: ``descriptors.characterization._FORMAT``, repeated (no TensorFlow) to refuse other files early; a test keeps
#: them equal.
CHARACTERIZATION_FORMAT = "mcrpy_poly.Characterization/1"
#: Seconds of an evaluation report of a small map on 2 cores (README example), for the time left.
REPORT_SECONDS = 15.0
#: What ``summary.json``'s ``relative_errors`` measure (the report's statistics are others).
RELATIVE_ERRORS = ("||d - d_target|| / ||d_target|| of each loss descriptor as characterized (hybrid variogram: "
                   "the Gram matrix of increments over lags |r_i| < limit_to['variogram']); the report's "
                   "'variogram' error is that of the semivariogram maps over the correlation window")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Reconstruct orientation maps or volumes from an EBSD map "
                                                       "(MCRpy-style descriptor optimisation on SHSH).")
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="EBSD file, characterization .npz or quaternion .npy (three for per-axis 3D targets)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--phase", help="phase id or name of a multi-phase EBSD map")
    p.add_argument("--shape", nargs="+", type=int, metavar="N", help="H W [D] (default: the input's shape)")
    p.add_argument("--descriptors", nargs="+", metavar="NAME",
                   help="descriptors of the loss (default: correlations variogram mean_variation texture)")
    p.add_argument("--weights", nargs="+", type=float, metavar="W", help="one weight per descriptor")
    p.add_argument("--limit-to", type=int, metavar="N",
                   help="lag window of the correlations and the variogram (default: correlations chosen from the "
                        "map, variogram 4)")
    p.add_argument("--optimizer", default="lbfgsb", choices=["lbfgsb", "tnc", "adam", "sgd", "tfp-lbfgs"])
    p.add_argument("--max-iter", type=int, metavar="N",
                   help=f"loss evaluations per seed (default {DEFAULT_MAX_ITER[2]} in 2D, {DEFAULT_MAX_ITER[3]} in 3D)")
    p.add_argument("--start", choices=["grains", "random"], default="grains",
                   help="grains (default): a tessellation with the input's boundary density per axis, grain "
                        "orientations fitted to the descriptors; random: voxel-by-voxel optimisation from random "
                        "orientations through the multigrid levels (MCRpy's way)")
    p.add_argument("--fit", choices=["descriptors", "none"], default="descriptors",
                   help="descriptors (default): fit the orientations to the input's descriptors; none: no fit, the "
                        "grain start's tessellation filled with the input map's own grains (seconds; one map INPUT)")
    p.add_argument("--levels", type=int, metavar="L",
                   help="multigrid levels with --start random (default: 2 where they fit)")
    p.add_argument("--seeds", type=int, default=1, metavar="K", help="ensemble size; the lowest loss is kept")
    p.add_argument("--seed", type=int, default=0, help="first random seed")
    p.add_argument("--resume", action="store_true", help="continue from DIR/checkpoint.npz")
    p.add_argument("--symmetry", help="point group of a .npy input (e.g. m-3m, 6/mmm)")
    p.add_argument("--convention", choices=["orix", "mcrpy"], help="quaternion convention of a .npy input")
    p.add_argument("--volume-format", nargs="+", choices=["vti", "dream3d"], default=["vti", "dream3d"],
                   help="3D output formats")
    p.add_argument("--checkpoint-every", type=int, default=100, metavar="N", help="evaluations between checkpoints")
    p.add_argument("--no-report", action="store_true", help="skip the evaluation report (IPF maps, pole figures)")
    p.add_argument("--quiet", action="store_true", help="no progress bar, no stage lines")
    p.add_argument("--no-grain-stage", action="store_true",
                   help="leave the optimised field as it is (no segmentation into uniform grains at the end)")
    # -- solver exports (mcrpy_poly.io.damask, mcrpy_poly.io.abaqus) --
    p.add_argument("--export", type=_export_formats, default=[], metavar="FORMATS",
                   help=f"comma-separated solver inputs to write: {','.join(EXPORT_FORMATS)} (a 2D map is exported "
                        f"as one layer of voxels)")
    p.add_argument("--abaqus-periodic", action="store_true", help="periodic-boundary node sets in abaqus/rve.inp")
    return p


#: ``--export`` formats: the grain exporters and the per-voxel volume formats they add.
EXPORT_FORMATS = ("damask", "abaqus", "dream3d", "vtk")
_EXPORT_VOLUME = {"dream3d": "dream3d", "vtk": "vti"}


def _export_formats(text: str) -> list:
    formats = [f.strip() for f in text.split(",") if f.strip()]
    unknown = sorted(set(formats) - set(EXPORT_FORMATS))
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown format {', '.join(unknown)}; choose from {','.join(EXPORT_FORMATS)}")
    if "damask" in formats and importlib.util.find_spec("damask") is None:
        raise argparse.ArgumentTypeError("damask export needs the damask package: pip install 'mcrpy-poly[damask]'")
    return formats


def _write_exports(directory: Path, omap, grains, args) -> None:
    """Write the volume formats (``--volume-format`` for 3D, and those in ``--export``, a 2D map
    as one layer of voxels) with the grains' FeatureIds, and the ``--export`` solver inputs
    (DAMASK grid and material, Abaqus mesh) into ``directory``."""
    from ..io.abaqus import save_abaqus
    from ..io.damask import save_damask
    from ..io.export import save_dream3d, save_vti

    volume_formats = [] if omap.ndim == 2 else args.volume_format
    volume_formats = dict.fromkeys([*volume_formats, *(_EXPORT_VOLUME[f] for f in args.export if f in _EXPORT_VOLUME)])
    volume = omap if omap.ndim == 3 else omap.replace(
        quaternions=omap.quaternions[:, :, None], indexed=omap.indexed[:, :, None], step=(*omap.step, omap.step[1]))
    for fmt in volume_formats:
        save = {"vti": save_vti, "dream3d": save_dream3d}[fmt]
        save(directory / f"reconstruction.{fmt}", volume, grains.labels.reshape(volume.shape))
    arrays = (grains.labels, grains.orientations, omap.point_group, omap.step, omap.phase_name)
    if "damask" in args.export:
        save_damask(directory / "damask", *arrays)
    if "abaqus" in args.export:
        save_abaqus(directory / "abaqus" / "rve.inp", *arrays, periodic=args.abaqus_periodic)


def _check_options(args) -> None:
    """Conflicts between options, found before anything is read or written."""
    from ..errors import InputError
    from ..reconstruction.budget import LOSS_DESCRIPTORS

    suffixes = {Path(path).suffix.lower() for path in args.inputs}
    if len(args.inputs) not in (1, 3):
        raise InputError(f"give one INPUT, or three (sections normal to axes 0, 1, 2); got {len(args.inputs)}")
    if args.shape is not None and len(args.shape) not in (2, 3):
        raise InputError(f"--shape takes 2 or 3 sizes, got {len(args.shape)}")
    if args.shape is not None and min(args.shape) < 1:
        raise InputError(f"--shape sizes must be >= 1, got {args.shape}")
    if len(args.inputs) == 3 and (args.shape is None or len(args.shape) != 3):
        raise InputError("three INPUTs are per-axis sections of a volume: give a 3D --shape H W D")
    if ".npy" not in suffixes and (args.symmetry is not None or args.convention is not None):
        raise InputError("--symmetry and --convention apply to .npy quaternion inputs only")
    if ".npy" in suffixes and args.symmetry is None:
        raise InputError("a .npy quaternion input needs --symmetry (e.g. --symmetry m-3m)")
    if args.weights is not None and args.descriptors is not None and len(args.weights) != len(args.descriptors):
        raise InputError(f"{len(args.weights)} --weights for {len(args.descriptors)} --descriptors")
    if (args.max_iter is not None and args.max_iter < 1) or args.seeds < 1 or args.checkpoint_every < 1:
        raise InputError("--max-iter, --seeds and --checkpoint-every must be >= 1")
    if args.fit == "none" and (len(args.inputs) != 1 or args.start != "grains" or args.resume):
        raise InputError("--fit none takes one map INPUT and no --start random or --resume (nothing is optimised)")
    if args.limit_to is not None and args.limit_to < 1:
        raise InputError(f"--limit-to must be >= 1, got {args.limit_to}")
    unknown = sorted(set(args.descriptors or ()) - set(LOSS_DESCRIPTORS))
    if unknown:
        raise InputError(f"unknown descriptor(s) {unknown}; choose from {sorted(LOSS_DESCRIPTORS)}")


def _check_output_paths(args) -> None:
    """Every path the run writes: ``--out`` (and its staging folder beside it) and the checkpoint."""
    from ..errors import InputError
    from ._common import check_output_file, check_output_folder

    out = Path(args.out)
    check_output_folder(out)
    check_output_file(out / CHECKPOINT, "checkpoint")
    if args.resume and not (out / CHECKPOINT).is_file():
        raise InputError(f"--resume: no {CHECKPOINT} in {out} to continue from")


def _read_input(path, args):
    """The OrientationMap of one INPUT (no TensorFlow), or its saved Characterization (which
    needs TensorFlow, imported quietly)."""
    from ..errors import InputError, MalformedFileError
    from ..io.maps import load_map

    path = Path(path)
    try:
        return load_map(path, phase=args.phase, symmetry=args.symmetry, convention=args.convention or "orix")
    except MalformedFileError:
        saved_format = _saved_format(path) if path.suffix.lower() == ".npz" else None
        if saved_format is None:
            raise
    if saved_format != CHARACTERIZATION_FORMAT:
        raise InputError(f"{path}: not a mcrpy_poly characterization (format {saved_format!r})")
    import_tensorflow()  # not an OrientationMap .npz: a characterization, or load_characterization names the problem
    from ..descriptors import load_characterization

    characterization = load_characterization(path)
    if args.limit_to is not None:
        raise InputError(f"{path}: --limit-to conflicts with a saved characterization (its windows are fixed)")
    return characterization


def _saved_format(path):
    """The ``format`` of the JSON ``metadata`` entry of the project's own ``.npz`` files, ``""``
    when it has none, ``None`` when the file has no such entry."""
    try:
        with np.load(path, allow_pickle=False) as data:
            if "metadata" not in data.files:
                return None
            return str(json.loads(str(data["metadata"])).get("format", ""))
    except (OSError, ValueError, AttributeError):
        return None


def _check_budget(inputs, args) -> None:
    """Descriptor windows against the input maps and the reconstruction shape, and the memory
    estimate of the run (:mod:`~mcrpy_poly.reconstruction.budget`), before TensorFlow."""
    from .. import SHSHBasis
    from ..errors import InputError, ShapeError
    from ..orientation import OrientationMap
    from ..reconstruction.budget import (
        DEFAULT_WINDOWS,
        LOSS_DESCRIPTORS,
        check_memory,
        check_shape,
        estimate_bytes,
    )

    names = tuple(dict.fromkeys(args.descriptors or LOSS_DESCRIPTORS))
    first = inputs[0]
    if isinstance(first, OrientationMap):
        limits = {name: args.limit_to or window for name, window in DEFAULT_WINDOWS.items() if name in names}
        if args.limit_to is None and "correlations" in limits:
            limits["correlations"] = 1  # chosen from the map later, within the domain and the memory
        n_channels = SHSHBasis(first.symmetry).n_terms
        n_pairs = n_channels * (n_channels + 1) // 2
    else:
        if args.descriptors is None:  # the defaults it holds, as reconstruct() takes them
            names = tuple(name for name in names if name in first.descriptors)
        missing = [name for name in names if name not in first.descriptors]
        if missing or not names:
            raise InputError(f"{args.inputs[0]}: the characterization has no {', '.join(missing or LOSS_DESCRIPTORS)}")
        limits = {name: int(first.limit_to[name]) for name in names if name in first.limit_to}
        n_channels, n_pairs = first.basis.n_terms, len(first.pairs)
    for path, item in zip(args.inputs, inputs):
        if isinstance(item, OrientationMap):
            try:
                check_shape(item.shape, limits, periodic=item.periodic)
            except ShapeError as exc:
                raise ShapeError(f"{path}: map {item.shape} is too small: {exc}; choose a smaller --limit-to") from None
    shape = tuple(args.shape) if args.shape is not None else tuple(first.shape)
    check_shape(shape, limits)
    sliced = len(shape) == 3 and len(first.shape) == 2
    check_memory(estimate_bytes(shape, n_channels, names, limits, n_pairs, sliced))


def _choose_windows(maps, shape, descriptors, sliced: bool) -> tuple[dict, dict]:
    """Windows chosen from the maps for the domain ``shape``: ``(limits, record)``; the record
    (for ``summary.json``) holds each map's correlation length and the caps."""
    from ..descriptors import channel_pairs, resolve_limits
    from ..descriptors.window import window_and_length
    from ..orientation import SHSHBasis
    from ..reconstruction.budget import largest_window

    limits = resolve_limits(descriptors)
    if "correlations" not in limits:
        return limits, {"chosen_from_map": False}
    basis = SHSHBasis(maps[0].symmetry)
    domain_cap = largest_window(shape, basis.n_terms, descriptors, limits, len(channel_pairs(basis.n_terms)),
                                sliced)
    chosen = [window_and_length(omap, basis, max_window=domain_cap) for omap in maps]
    limits["correlations"] = max(window for window, _ in chosen)
    return limits, {"chosen_from_map": True, "correlation_length_px": [round(length, 2) for _, length in chosen],
                    "domain_cap": domain_cap}


def _characterize_inputs(inputs, shape, names, args) -> tuple[list, dict]:
    """Characterizations of all INPUTs (maps characterized with common windows) and the
    ``windows`` record of ``summary.json``."""
    from ..descriptors import characterize, resolve_limits
    from ..errors import ShapeError
    from ..orientation import OrientationMap
    from ..reconstruction.budget import check_shape

    descriptors = tuple(dict.fromkeys([*names, "texture"]))
    maps = [item for item in inputs if isinstance(item, OrientationMap)]
    if not maps:
        return list(inputs), {**inputs[0].limit_to, "chosen_from_map": False}
    if args.limit_to is None:
        limits, record = _choose_windows(maps, shape, descriptors, sliced=len(shape) == 3 and maps[0].ndim == 2)
    else:
        limits, record = resolve_limits(descriptors, args.limit_to), {"chosen_from_map": False}
    characterizations = []
    for item, path in zip(inputs, args.inputs):
        if isinstance(item, OrientationMap):
            try:
                check_shape(item.shape, limits, periodic=item.periodic)
            except ShapeError as exc:
                raise ShapeError(f"{path}: map {item.shape} is too small: {exc}; choose a smaller --limit-to") from None
            item = characterize(item, descriptors=descriptors, limit_to=limits)
        characterizations.append(item)
    return characterizations, {**limits, **record}


def _describe(path, item) -> str:
    from ..orientation import OrientationMap

    size = " x ".join(str(s) for s in item.shape)
    if not isinstance(item, OrientationMap):
        return f"{Path(path).name} (saved characterization of {size} pixels)"
    return f"{Path(path).name}, {size} pixels, {item.symmetry.name}, {item.indexed_fraction:.0%} indexed"


def _versions() -> dict:
    import mcrpy
    import numpy
    import orix
    import tensorflow

    from .. import __version__

    return {"mcrpy_poly": __version__, "python": sys.version.split()[0], "numpy": numpy.__version__,
            "tensorflow": tensorflow.__version__, "orix": orix.__version__,
            "mcrpy": getattr(mcrpy, "__version__", "0.2.0")}


def _write_outputs(staging: Path, result, references, characterizations, args, timings) -> dict:
    """Everything but the summary into ``staging``; returns extra summary entries."""
    from ..descriptors import characterize
    from ..evaluate.grain_metrics import metrics_of_grains
    from ..io.ebsd import save_ang
    from ..reconstruction import grain_interior_fraction

    started = time.perf_counter()
    omap = result.orientations
    reference = references[0]
    if reference is not None:
        omap = omap.replace(symmetry=reference.point_group, phase_name=reference.phase_name,
                            step=reference.step[0])
        result.orientations = omap
    grains = result.grain_segmentation()
    result.save(staging, grains)
    if omap.ndim == 2:
        save_ang(staging / "reconstruction.ang", omap)
    _write_exports(staging, omap, grains, args)
    timings["export"] = time.perf_counter() - started
    started = time.perf_counter()
    first = characterizations[0]
    names = list(first.descriptors)
    sections = [None] if omap.ndim == 2 or first.ndim == 3 else [0, 1, 2]
    for index, characterization in enumerate(characterizations):
        suffix = "" if len(characterizations) == 1 else f"_axis{index}"
        characterization.save(staging / f"characterization_input{suffix}.npz")
    for axis in sections:
        suffix = "" if axis is None else f"_axis{axis}"
        characterize(omap, descriptors=names, limit_to=first.limit_to, basis=first.basis, pairs=first.pairs,
                     slice_axis=axis, grains=grains).save(staging / f"characterization_result{suffix}.npz")
    timings["characterize_result"] = time.perf_counter() - started
    # grain_segmentation is periodic at 5 degrees, as grain_interior_fraction (any smallest grain) segments
    extra = {"grain_interior_fraction": grains.interior_fraction,
             "grains": {key: value for key, value in metrics_of_grains(grains).items() if key in SUMMARY_GRAIN_KEYS}}
    if reference is not None:
        extra["grain_interior_fraction_input"] = grain_interior_fraction(reference)
    if reference is not None and not args.no_report:
        started = time.perf_counter()
        from ..evaluate import compare

        try:
            compare(reference, omap, loss=list(result.loss_history) or None,
                    level_starts=result.level_starts).save_report(
                staging / "report")
        except Exception as exc:
            extra["report_error"] = f"{type(exc).__name__}: {exc}"
            shutil.rmtree(staging / "report", ignore_errors=True)
            print(f"{PROG}: warning: no evaluation report ({extra['report_error']})", file=sys.stderr)
        timings["report"] = time.perf_counter() - started
    return extra


def _publish(staging: Path, out: Path) -> None:
    """Move every staged entry into ``out`` (each by an atomic rename)."""
    out.mkdir(parents=True, exist_ok=True)
    for entry in sorted(staging.iterdir()):
        target = out / entry.name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        os.replace(entry, target)


def run(args) -> int:
    """Reconstruct as the parsed ``args`` say; returns 0 (errors are raised).

    First everything is checked without TensorFlow (options, every output path, the inputs,
    the descriptor windows and the memory estimate); then TensorFlow is imported, quietly."""
    started = time.perf_counter()
    _check_options(args)
    _check_output_paths(args)
    inputs = [_read_input(path, args) for path in args.inputs]
    if args.fit == "none" and not hasattr(inputs[0], "quaternions"):
        from ..errors import InputError

        raise InputError(f"{args.inputs[0]}: --fit none needs the map (its grains), not a saved characterization")
    _check_budget(inputs, args)
    stages = StageProgress(PROG, ["load", "characterize", "reconstruct", "write outputs"], enabled=not args.quiet,
                           started=started)
    stages.finished("load", "; ".join(_describe(path, item) for path, item in zip(args.inputs, inputs)))
    timings = {"load": time.perf_counter() - started}
    stages.start("characterize", ", ".join(Path(path).name for path in args.inputs) + (
        "" if "tensorflow" in sys.modules else "; starting TensorFlow first"))
    started_stage = time.perf_counter()
    import_tensorflow()
    timings["start_tensorflow"] = time.perf_counter() - started_stage
    started_stage = time.perf_counter()
    from ..atomic import save_json
    from ..orientation import OrientationMap
    from ..reconstruction import reconstruct
    from ..reconstruction.loss import DEFAULT_DESCRIPTORS

    out = Path(args.out)
    names = tuple(args.descriptors or DEFAULT_DESCRIPTORS)
    shape = tuple(args.shape) if args.shape is not None else tuple(inputs[0].shape)
    if args.max_iter is None:
        args.max_iter = DEFAULT_MAX_ITER[len(shape)]
    characterizations, windows = _characterize_inputs(inputs, shape, names, args)
    maps = [item if isinstance(item, OrientationMap) else None for item in inputs]
    timings["characterize"] = time.perf_counter() - started_stage
    timings["load_and_characterize"] = time.perf_counter() - started
    _print_windows(windows)
    if maps[0] is None and not args.no_report:
        print(f"{PROG}: note: no evaluation report: INPUT {args.inputs[0]} is a saved characterization, "
              f"there is no map to compare with", file=sys.stderr)
    stages.expect("write outputs", _expected_output_seconds(timings["characterize"], shape, characterizations,
                                                            report=maps[0] is not None and not args.no_report))
    target = characterizations[0] if len(characterizations) == 1 else characterizations
    weights = None if args.weights is None else (
        dict(zip(args.descriptors, args.weights)) if args.descriptors else list(args.weights))
    total = args.seeds * args.max_iter
    stages.start("reconstruct", f"{' x '.join(map(str, shape))}, " + (
        "the map's grains in a tessellation, no fit" if args.fit == "none"
        else f"{args.optimizer}, {total} loss evaluations"))
    if args.fit == "none":
        result = _filled_tessellation(inputs[0], shape, args.seed)
    else:
        result = reconstruct(target, shape, descriptors=args.descriptors, weights=weights, optimizer=args.optimizer,
                             max_iter=args.max_iter, levels=args.levels, seeds=args.seeds, seed=args.seed,
                             checkpoint=out / CHECKPOINT, checkpoint_every=args.checkpoint_every,
                             resume=args.resume, progress=not args.quiet,
                             callback=lambda done, loss: stages.advance(done, total),
                             grain_stage=not args.no_grain_stage, start=args.start)
    timings["reconstruct"] = result.timings.get("total", 0.0)
    timings.update({f"reconstruct_{key}": value for key, value in result.timings.items() if key != "total"})
    stages.start("write outputs", "reconstruction, characterizations" + (
        ", evaluation report" if maps[0] is not None and not args.no_report else ""))
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.staging-") as tmp:
        staging = Path(tmp)
        extra = _write_outputs(staging, result, maps, characterizations, args, timings)
        timings["total"] = time.perf_counter() - started
        summary = dict(input=[str(Path(p)) for p in args.inputs], shape=list(shape),
                       symmetry=result.orientations.point_group, settings=result.settings,
                       initial_loss=result.initial_loss, final_loss=result.final_loss,
                       relative_errors=result.relative_errors, relative_errors_definition=RELATIVE_ERRORS,
                       ensemble_losses=result.ensemble_losses, level_starts=result.level_starts, windows=windows,
                       periodic_targets=[c.periodic for c in characterizations], timings=timings,
                       versions=_versions(), **extra)
        save_json(staging / "summary.json", summary)
        _publish(staging, out)
    (out / CHECKPOINT).unlink(missing_ok=True)
    stages.done()
    history = result.loss_history
    stages_run = len(result.level_starts)
    if args.fit == "none":
        print(f"{PROG}: the map's grains in a tessellation, no fit ({result.timings['total']:.1f} s); wrote {out}")
        return 0
    print(f"{PROG}: loss {history[0]:.3e} -> {result.final_loss:.3e} (first evaluation -> result, {len(history)} "
          f"evaluations in {stages_run} stage{'s' if stages_run > 1 else ''}: "
          f"{'grain start' if result.settings.get('start') == 'grains' else 'levels'}"
          f"{' and grain stage' if result.grains is not None else ''}); wrote {out}")
    return 0


def _filled_tessellation(omap, shape, seed: int):
    """``--fit none``: one :class:`~mcrpy_poly.grain_field.TessellationField` sample of ``omap``
    on ``shape`` (periodic), as a :class:`~mcrpy_poly.reconstruction.Reconstruction` without a loss."""
    from ..grain_field import TessellationField
    from ..orientation import OrientationMap
    from ..reconstruction import Reconstruction

    started = time.perf_counter()
    quaternions = TessellationField.from_map(omap, shape).sample(1, rng=seed)[0]
    result = OrientationMap(quaternions, omap.point_group, phase_name=omap.phase_name, periodic=True)
    return Reconstruction(result, np.zeros(0), dict(fit="none", start="grains", seed=seed, shape=list(shape)),
                          timings={"total": time.perf_counter() - started})


def _print_windows(windows: dict) -> None:
    how = "chosen from the map" if windows["chosen_from_map"] else "given"
    lengths = windows.get("correlation_length_px")
    detail = f" (correlation length {', '.join(f'{v:g}' for v in lengths)} px)" if lengths else ""
    sizes = ", ".join(f"{name} {windows[name]}" for name in ("correlations", "variogram") if name in windows)
    print(f"{PROG}: lag windows {sizes}; {how}{detail}")


def _expected_output_seconds(characterize_seconds: float, shape, characterizations, report: bool) -> float:
    """Rough duration of the last stage: the result is characterized like the input (scaled by
    its size); the report (grains, pole figures, figures) takes about 15 s on 2 cores for a
    64 x 64 map (``REPORT_SECONDS``), growing with the size like a few characterizations."""
    scale = float(np.prod(shape)) / max(1.0, float(np.prod(characterizations[0].shape)))
    seconds = characterize_seconds * max(scale, 1.0)
    return seconds + (REPORT_SECONDS + 5 * seconds if report else 0.0)


def main(argv=None) -> int:
    from ._common import EXIT_INTERNAL, run_command

    args = build_parser().parse_args(argv)
    try:
        return run_command(PROG, run, args)[0]
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; continue with --resume", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
