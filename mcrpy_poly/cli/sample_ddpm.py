"""``sample-ddpm``: generate orientation maps with a model from ``train-ddpm`` and compare them
with the training map or a reference.

Usage::

    sample_ddpm.py MODEL_DIR --out DIR [--n 8] [--size 128] [--sampler ddim|ddpm] [--steps 50]
    sample_ddpm.py MODEL_DIR --condition REF [--phase NAME] [--global tessellation|iaaft|grf] [--t0 300]
                   [--start literal|sdedit] ...
    sample_ddpm.py [MODEL_DIR] --condition REF --grf-only [--global tessellation|iaaft|grf] ...

Plain sampling runs the whole reverse chain from noise. With ``--condition REF`` (an EBSD
file, OrientationMap ``.npz`` or quaternion ``.npy``; non-indexed pixels filled) it samples
by paper 000's Local-Global Decomposition (:mod:`mcrpy_poly.diffusion.lgd`): a global field
with REF's SHSH statistics (:mod:`mcrpy_poly.grf`) is scaled like the training data, started
at ``--t0`` (as it is, or noised with ``--start sdedit``) and denoised with the channel means
pulled to REF's at every step (``--mean-weight``) and, with ``--guidance-weight W``, steered
towards REF's two-point correlations (:mod:`mcrpy_poly.diffusion.descriptor_guidance`,
TensorFlow only). The global field (``--global``) is

- ``tessellation`` (default): REF's grain structure rebuilt
  (:class:`~mcrpy_poly.grain_field.TessellationField`): a Voronoi/Laguerre tessellation with
  REF's boundary share per axis and grains per area, each cell with the orientation of one of
  REF's grains, drawn with area quotas that keep REF's texture and never the grain of an
  adjacent cell. The default because it is the only global part whose grains match on both
  maps of ``benchmarks/RESULTS.md`` (MCRpy map, 64 samples: grain density -3 %, two-point
  error 0.092 ensemble / 0.129 per sample, 0.4 s per 128^2 sample) and it needs no iterations;
- ``iaaft``: an IAAFT surrogate (:class:`~mcrpy_poly.grf.AmplitudeAdjustedField`), REF's own
  pixels rearranged towards REF's cross-spectrum, so that its texture is REF's exactly and its
  two-point statistics hold for the orientations, then made into grains
  (:func:`~mcrpy_poly.grf.consolidate_grains`: each patch within ``--grain-threshold`` degrees
  takes one of its pixels' orientations; 0 = off). Close to the tessellation on the MCRpy map
  (0.093 / 0.171, grains -10 %) at 16x its time; on a reference of few large grains (sdss
  austenite) it stays a fine mixture, no better than the GRF;
- ``grf``: paper 000's Gaussian random field with REF's means and auto/cross-covariances,
  whose statistics hold for the SHSH field but not after the mapping to orientations.

``--grf-only`` writes the global fields themselves as orientations (tessellation and IAAFT:
REF's own orientations, no inversion); no network is loaded (MODEL_DIR, if given, only supplies its
SHSH basis).

Writes per sample ``sample_NNN.npy`` (quaternions ``(H, W, 4)``, orix convention),
``sample_NNN.ang`` and ``sample_NNN_ipf.png`` (IPF colours along z), the reference's
``reference_ipf.png`` (REF, else the training map), and ``summary.json``: timings, the share
of pixels whose recovered orientation is within 5 degrees of that of the nearest reference
SHSH vector, the relative errors of the two-point correlations and the texture (SHSH means)
of each sample against the reference(s), with their ensemble mean and spread and the error
of the ensemble-averaged descriptors, and the grain metrics
(:mod:`mcrpy_poly.evaluate.grain_metrics`; samples measured as the reference is, an EBSD map
non-periodic) with their errors per sample, their mean, and those of the ensemble-averaged
metrics.

Exit codes: 0 success, 2 bad input (one-line message), 1 internal error.
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from ..atomic import atomic_path, save_json
from ..errors import InputError
from ..io.ebsd import save_ang
from ..io.maps import load_map
from ..orientation.orientation_map import OrientationMap
from ..orientation.shsh import SHSHBasis
from ._common import check_output_folder, run_command, start_keras_backend
from .train_ddpm import load_training, metadata_basis

PROG = "sample-ddpm"
#: Descriptors compared with the training map.
COMPARED = ("correlations", "texture")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Sample orientation maps from a trained DDPM.")
    p.add_argument("model_dir", metavar="MODEL_DIR", nargs="?", help="model directory (optional with --grf-only)")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--condition", metavar="REF", help="reference map: Local-Global Decomposition sampling")
    p.add_argument("--phase", help="phase of a multi-phase REF (name or id)")
    p.add_argument("--symmetry", help="point group of a .npy REF (e.g. m-3m)")
    p.add_argument("--convention", choices=("orix", "mcrpy"), default="orix", help="quaternion convention of .npy")
    p.add_argument("--grf-only", action="store_true", help="write the global field samples of REF (no network)")
    p.add_argument("--global", dest="global_part", choices=("tessellation", "iaaft", "grf"),
                   default="tessellation", help="global part: a tessellation with REF's grains, an IAAFT surrogate "
                                                "of REF, or a Gaussian random field (default tessellation)")
    p.add_argument("--iaaft-iterations", type=int, default=20,
                   help="IAAFT iterations per sample, at most (default 20)")
    p.add_argument("--grain-threshold", type=float, default=12.0,
                   help="IAAFT: patches within this disorientation (degrees) become grains, 0 = off (default 12)")
    p.add_argument("--grf-spectrum", choices=("gaussian", "fixed"), default="gaussian",
                   help="GRF noise: Gaussian, or fixed spectral amplitudes (see mcrpy_poly.grf; default gaussian)")
    p.add_argument("--t0", type=int, default=300, help="start timestep of the conditioned chain (default 300)")
    p.add_argument("--start", choices=("literal", "sdedit"), default="literal",
                   help="GRF sample as the state at t0, or noised to t0 (default literal)")
    p.add_argument("--mean-weight", type=float, default=1.0,
                   help="per-step pull of the channel means to REF's, 0 = off (default 1)")
    p.add_argument("--guidance-weight", type=float, default=0.0,
                   help="per-step descriptor guidance towards REF's two-point correlations (TensorFlow; "
                        "0 = off, default)")
    p.add_argument("--n", type=int, default=8, help="number of maps (default 8)")
    p.add_argument("--size", type=int, default=128, help="map side in pixels (default 128)")
    p.add_argument("--sampler", choices=("ddim", "ddpm"), help="default ddim; ddpm with --condition")
    p.add_argument("--steps", type=int,
                   help="denoising steps (default: 50 for ddim, at most t0 + 1; all for ddpm)")
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


def compare_grains(samples, reference) -> dict:
    """Grain metrics of the samples against those of the reference, all measured as the reference
    is (``reference.periodic``: an EBSD map is not periodic, so neither are the samples' counts).

    Counted non-periodically, a grain cut by the map's edge counts once per piece, so a small
    map has more grains per area than its periodic count (sdss austenite: 89 grains, 44 of them at
    the edge); measuring periodic samples against it would read that as too few grains.

    Returns
    -------
    dict
        ``reference`` and ``samples`` (metrics, histograms left out), ``errors`` per sample
        (:func:`~mcrpy_poly.evaluate.grain_metrics.relative_grain_errors`), their ``mean``, and
        ``ensemble_errors``: the errors of the metrics averaged over the samples (histograms
        averaged bin by bin). Means skip NaN (a sample that is all speckle has no grains, so no
        grain density or diameter); NaN only where no sample has a value.
    """
    from ..evaluate.grain_metrics import grain_metrics, relative_grain_errors

    target = grain_metrics(reference, periodic=reference.periodic)
    measured = [grain_metrics(m, periodic=reference.periodic) for m in samples]
    errors = [relative_grain_errors(target, m) for m in measured]
    numeric = [k for k, v in target.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a metric no sample has stays NaN
        ensemble = {k: float(np.nanmean([m[k] for m in measured])) for k in numeric}
        mean = {k: float(np.nanmean([e[k] for e in errors])) for k in errors[0]}
    ensemble["boundary_misorientation_histogram"] = np.mean(
        [m["boundary_misorientation_histogram"] for m in measured], axis=0).tolist()

    def brief(metrics):
        return {k: v for k, v in metrics.items() if k != "boundary_misorientation_histogram"}

    return dict(reference=brief(target), samples=[brief(m) for m in measured], errors=errors,
                mean=mean,
                ensemble_errors=relative_grain_errors(target, ensemble))


def _check(args):
    for name in ("n", "size", "batch", "iaaft_iterations"):
        if getattr(args, name) < 1:
            raise InputError(f"--{name.replace('_', '-')} must be positive, got {getattr(args, name)}")
    if args.grain_threshold < 0:
        raise InputError(f"--grain-threshold must be >= 0, got {args.grain_threshold}")
    if args.grf_only and not args.condition:
        raise InputError("--grf-only needs --condition REF")
    if not args.grf_only and not args.model_dir:
        raise InputError("MODEL_DIR is needed unless --grf-only")


def _model_basis(model_dir) -> SHSHBasis:
    """The SHSH basis of a model directory, from its config.json alone (no network loaded)."""
    import json

    from ..diffusion.model import CONFIG_FILE

    path = Path(model_dir) / CONFIG_FILE
    if not path.is_file():
        raise InputError(f"{model_dir}: not a diffusion model directory (no {CONFIG_FILE})")
    return metadata_basis(json.loads(path.read_text())["metadata"])


def generate(args) -> dict:
    """Sample, invert, write and compare as the parsed command line says; returns the summary."""
    from ..diffusion.data import nearest_training_agreement
    from ..evaluate.ipf import save_ipf_png

    _check(args)
    check_output_folder(args.out)
    reference = None
    if args.condition:
        reference = load_map(args.condition, args.phase, args.symmetry, args.convention).fill_unindexed()
        if reference.ndim != 2:
            raise InputError(f"{args.condition}: --condition needs a 2D map, got shape {reference.shape[:-1]}")
    if args.grf_only:
        model = None
        basis = _model_basis(args.model_dir) if args.model_dir else SHSHBasis(reference.symmetry)
        references = [reference]
    else:
        _model_basis(args.model_dir)  # a model directory, before Keras starts
        start_keras_backend()
        model, _, basis, scaler, training_maps = load_training(args.model_dir)
        references = [reference] if reference is not None else training_maps
    if reference is not None and reference.symmetry != basis.symmetry:
        raise InputError(f"{args.condition} has symmetry {reference.symmetry.name}, the model {basis.symmetry.name}")
    sampler = args.sampler or ("ddpm" if reference is not None else "ddim")
    steps = args.steps
    if steps is None and sampler == "ddim":
        steps = min(50, args.t0 + 1) if reference is not None else 50
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    shape = (args.size, args.size)
    started = time.perf_counter()
    quaternions = None
    if reference is not None:
        values, target_mean, global_quaternions, global_method = global_fields(reference, basis, shape, args)
    if args.grf_only:
        quaternions = global_quaternions
        method = dict(method=args.global_part, **global_method)
    elif reference is not None:
        from ..diffusion.lgd import lgd_sample

        guidance = None
        if args.guidance_weight:
            from ..diffusion.descriptor_guidance import correlation_guidance

            guidance = correlation_guidance(scaler.scale(basis(reference.quaternions)), args.guidance_weight,
                                            args.limit_to or 16)
        fields = lgd_sample(model, scaler.scale(values), scaler.scale(target_mean), args.t0, args.start, sampler,
                            steps, args.eta, args.mean_weight, guidance, seed=args.seed, batch=args.batch,
                            clip=(scaler.low, scaler.high), progress=True, **_label_kwargs(model, args))
        values = scaler.unscale(fields)
        method = dict(method="lgd", **global_method, t0=args.t0, start=args.start,
                      mean_weight=args.mean_weight, guidance_weight=args.guidance_weight, sampler=sampler,
                      steps=steps or args.t0 + 1, eta=args.eta)
    else:
        fields = [model.sample((min(args.batch, args.n - first), *shape, basis.n_terms), sampler, steps, args.eta,
                               seed=[args.seed, first], clip=(scaler.low, scaler.high), progress=True,
                               **_label_kwargs(model, args))
                  for first in range(0, args.n, args.batch)]
        values = scaler.unscale(np.concatenate(fields))
        method = dict(method="ddpm", sampler=sampler, steps=steps or model.schedule.n_steps, eta=args.eta)
    sampling_seconds = time.perf_counter() - started
    started = time.perf_counter()
    if quaternions is None:
        quaternions = basis.to_quaternion(values)
    inversion_seconds = time.perf_counter() - started
    first_reference = references[0]
    samples = []
    for i, q in enumerate(quaternions):
        omap = OrientationMap(q, first_reference.point_group, phase_name=first_reference.phase_name,
                              step=first_reference.step, source=f"{PROG} {args.model_dir or ''} sample {i}")
        samples.append(omap)
        _save_npy(out / f"sample_{i:03d}.npy", omap.quaternions)
        save_ang(out / f"sample_{i:03d}.ang", omap)
        save_ipf_png(out / f"sample_{i:03d}_ipf.png", omap, scale=max(1, 256 // args.size))
    save_ipf_png(out / "reference_ipf.png", first_reference, scale=max(1, 256 // max(first_reference.shape[:2])))
    summary = dict(model_dir=None if args.model_dir is None else str(args.model_dir),
                   model_step=None if model is None else model.step, condition=args.condition, n=args.n,
                   size=args.size, seed=args.seed, **method,
                   label=_label_kwargs(model, args).get("labels"), guidance=args.guidance,
                   seconds_per_map=dict(sampling=sampling_seconds / args.n, inversion=inversion_seconds / args.n),
                   within_5_degrees_of_nearest_training_vector=nearest_training_agreement(
                       values, quaternions, references, basis),
                   descriptor_errors=compare_descriptors(samples, references, basis, args.limit_to),
                   grain_metrics=compare_grains(samples, first_reference))
    save_json(out / "summary.json", summary)
    return summary


def global_fields(reference, basis, shape, args) -> tuple:
    """The global part of ``--n`` samples of REF on ``shape`` as ``--global`` says.

    Returns
    -------
    values : numpy.ndarray, shape (n, *shape, K)
        Unscaled SHSH fields.
    mean : numpy.ndarray, shape (K,)
        REF's channel means.
    quaternions : numpy.ndarray, shape (n, *shape, 4), or None
        The orientations of the fields where they are REF's own (IAAFT, with or without the
        grain step; tessellation); None for a GRF (to be inverted).
    method : dict
        What was done, for ``summary.json``.
    """
    from ..grf import AmplitudeAdjustedField, GaussianRandomField, consolidate_grains

    field = basis(reference.quaternions)
    if args.global_part == "tessellation":
        from ..grain_field import TessellationField

        quaternions = TessellationField.from_map(reference, shape).sample(args.n, rng=[args.seed, 1])
        return basis(quaternions), field.mean(axis=(0, 1)), quaternions, dict(global_part="tessellation")
    if args.global_part == "grf":
        grf = GaussianRandomField.from_fields(field, shape)
        return (grf.sample(args.n, rng=[args.seed, 1], spectrum=args.grf_spectrum), grf.mean, None,
                dict(global_part="grf", grf_spectrum=args.grf_spectrum))
    iaaft, first_pixel = AmplitudeAdjustedField.from_fields(field, shape)
    rows, misfit = iaaft.sample(args.n, rng=[args.seed, 1], iterations=args.iaaft_iterations)
    quaternions = reference.quaternions.reshape(-1, 4)[first_pixel[rows]]
    if args.grain_threshold:
        quaternions = np.stack([consolidate_grains(OrientationMap(q, reference.point_group, step=reference.step),
                                                   args.grain_threshold, rng=[args.seed, 2, i])
                                for i, q in enumerate(quaternions)])
    return (basis(quaternions), iaaft.grf.mean, quaternions,
            dict(global_part="iaaft", iaaft_iterations=args.iaaft_iterations, grain_threshold=args.grain_threshold,
                 iaaft_misfit=dict(start=float(misfit[:, 0].mean()), end=float(misfit[:, -1].mean()))))


def _label_kwargs(model, args) -> dict:
    """Class label and guidance scale for a conditional model; nothing otherwise."""
    if model is None or not model.conditional:
        return {}
    return dict(labels=args.label, guidance_scale=args.guidance)


def main(argv=None) -> int:
    """Command-line entry point; returns the exit code."""
    args = build_parser().parse_args(argv)
    code, summary = run_command(PROG, generate, args)
    if code == 0:
        errors = summary["descriptor_errors"]
        grains = summary["grain_metrics"]["ensemble_errors"]
        print(f"{PROG}: {summary['n']} {summary['method']} maps in {args.out}; "
              f"{summary['seconds_per_map']['sampling']:.2f} s/map sampling; "
              f"within 5 deg: {summary['within_5_degrees_of_nearest_training_vector']:.3f}; "
              + "; ".join(f"{k} error {v['mean']:.3f} +- {v['std']:.3f}" for k, v in errors.items())
              + f"; grains per area error {grains['grains_per_area_error']:+.3f}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
