"""``sample-ddpm``: generate orientation maps with a model from ``train-ddpm`` and compare them
with the training map.

Usage::

    sample_ddpm.py MODEL_DIR --out DIR [--n 8] [--size 128] [--sampler ddim|ddpm] [--steps 50]

Writes per sample ``sample_NNN.npy`` (quaternions ``(H, W, 4)``, orix convention),
``sample_NNN.ang`` and ``sample_NNN_ipf.png`` (IPF colours along z), the training map's
``training_ipf.png``, and ``summary.json``: timings, the share of pixels whose recovered
orientation is within 5 degrees of that of the nearest training SHSH vector, and the
relative errors of the two-point correlations and the texture (SHSH means) of each sample
against the training map(s), with their ensemble mean and spread and the error of the
ensemble-averaged descriptors.

Exit codes: 0 success, 2 bad input (one-line message), 1 internal error.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from ..atomic import atomic_path, save_json
from ..errors import InputError
from ..io.ebsd import save_ang
from ..orientation.orientation_map import OrientationMap
from ._common import check_output_folder, run_command, start_keras_backend
from .train_ddpm import load_training

PROG = "sample-ddpm"
#: Descriptors compared with the training map.
COMPARED = ("correlations", "texture")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Sample orientation maps from a trained DDPM.")
    p.add_argument("model_dir", metavar="MODEL_DIR")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--n", type=int, default=8, help="number of maps (default 8)")
    p.add_argument("--size", type=int, default=128, help="map side in pixels (default 128)")
    p.add_argument("--sampler", choices=("ddim", "ddpm"), default="ddim")
    p.add_argument("--steps", type=int, help="denoising steps (default: 50 for ddim, all T for ddpm)")
    p.add_argument("--eta", type=float, help="override the sampler's eta (0 = DDIM, 1 = ancestral)")
    p.add_argument("--batch", type=int, default=8, help="maps per network call (default 8)")
    p.add_argument("--label", type=int, default=0, help="class label of a conditional model (default 0)")
    p.add_argument("--guidance", type=float, default=1.0, help="classifier-free guidance scale (default 1)")
    p.add_argument("--limit-to", type=int, help="lag window of the compared correlations (default 16)")
    p.add_argument("--seed", type=int, default=0)
    return p


def _save_npy(path, array):
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.save(fh, array)


def compare_descriptors(samples, references, basis, limit_to=None) -> dict:
    """Relative errors of each sample's descriptors against the mean over ``references``.

    Returns
    -------
    dict
        Per descriptor name: ``errors`` (per sample), ``mean``, ``std`` and
        ``ensemble_average_error`` (error of the sample-averaged descriptor).
    """
    from ..descriptors import DEFAULT_LIMIT_TO, characterize, relative_error

    limit_to = DEFAULT_LIMIT_TO["correlations"] if limit_to is None else limit_to  # one window for all maps

    def describe(omap):
        return characterize(omap, COMPARED, limit_to=limit_to, basis=basis).descriptors

    target = [describe(m) for m in references]
    got = [describe(m) for m in samples]
    result = {}
    for name in COMPARED:
        reference = np.mean([t[name] for t in target], axis=0)
        errors = [relative_error(g[name], reference) for g in got]
        result[name] = dict(errors=errors, mean=float(np.mean(errors)), std=float(np.std(errors)),
                            ensemble_average_error=relative_error(np.mean([g[name] for g in got], axis=0), reference))
    return result


def generate(args) -> dict:
    """Sample, invert, write and compare as the parsed command line says; returns the summary."""
    for name in ("n", "size", "batch"):
        if getattr(args, name) < 1:
            raise InputError(f"--{name} must be positive, got {getattr(args, name)}")
    if not (Path(args.model_dir) / "config.json").is_file():
        raise InputError(f"{args.model_dir}: not a diffusion model directory (no config.json)")
    check_output_folder(args.out)
    start_keras_backend()
    from ..diffusion.data import fields_to_quaternions, nearest_training_agreement
    from ..evaluate.ipf import save_ipf_png

    model, metadata, basis, scaler, training_maps = load_training(args.model_dir)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    steps = 50 if args.steps is None and args.sampler == "ddim" else args.steps
    labels = args.label if model.conditional else None
    fields, started = [], time.perf_counter()
    for first in range(0, args.n, args.batch):
        count = min(args.batch, args.n - first)
        fields.append(model.sample((count, args.size, args.size, basis.n_terms), args.sampler, steps, args.eta,
                                   seed=[args.seed, first], labels=labels, guidance_scale=args.guidance,
                                   clip=(scaler.low, scaler.high), progress=True))
    sampling_seconds = time.perf_counter() - started
    fields = np.concatenate(fields)
    started = time.perf_counter()
    quaternions = fields_to_quaternions(fields, scaler, basis)
    inversion_seconds = time.perf_counter() - started
    reference = training_maps[0]
    samples = []
    for i, q in enumerate(quaternions):
        omap = OrientationMap(q, reference.point_group, phase_name=reference.phase_name, step=reference.step,
                              source=f"{PROG} {args.model_dir} sample {i}")
        samples.append(omap)
        _save_npy(out / f"sample_{i:03d}.npy", omap.quaternions)
        save_ang(out / f"sample_{i:03d}.ang", omap)
        save_ipf_png(out / f"sample_{i:03d}_ipf.png", omap, scale=max(1, 256 // args.size))
    save_ipf_png(out / "training_ipf.png", reference, scale=max(1, 256 // max(reference.shape[:2])))
    summary = dict(model_dir=str(args.model_dir), model_step=model.step, n=args.n, size=args.size,
                   sampler=args.sampler, steps=steps or model.schedule.n_steps, eta=args.eta, seed=args.seed,
                   label=labels, guidance=args.guidance,
                   seconds_per_map=dict(sampling=sampling_seconds / args.n, inversion=inversion_seconds / args.n),
                   within_5_degrees_of_nearest_training_vector=nearest_training_agreement(
                       scaler.unscale(fields), quaternions, training_maps, basis),
                   descriptor_errors=compare_descriptors(samples, training_maps, basis, args.limit_to))
    save_json(out / "summary.json", summary)
    return summary


def main(argv=None) -> int:
    """Command-line entry point; returns the exit code."""
    args = build_parser().parse_args(argv)
    code, summary = run_command(PROG, generate, args)
    if code == 0:
        errors = summary["descriptor_errors"]
        print(f"{PROG}: {summary['n']} maps in {args.out}; "
              f"{summary['seconds_per_map']['sampling']:.2f} s/map sampling; "
              f"within 5 deg: {summary['within_5_degrees_of_nearest_training_vector']:.3f}; "
              + "; ".join(f"{k} error {v['mean']:.3f} +- {v['std']:.3f}" for k, v in errors.items()), file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
