"""Reconstruction benchmarks: quality (paper 004 floor) and speed, on 2 CPU cores.

Usage::

    python benchmarks/bench_reconstruction.py [2d] [optimizers] [3d] [sdss] [hex] [mcrpy] [--out FILE.json]

Cases (default: all):

- ``2d``: MCRpy example map 128 x 128 (cubic, 9 SHSH), correlations + hybrid variogram + mean
  variation, L-BFGS-B, 1000 evaluations: wall time from interpreter start, time to the first
  evaluation, loss orders of magnitude, share of the variogram window below 5 % relative error,
  texture error, grain-interior fraction (pixels whose face neighbours all lie within 5 deg);
- ``optimizers``: the same case with each optimiser (paper 004, appendix C, Fig. 18);
- ``3d``: 64^3 from the same 2D map (Eq. 5 slice loss), 500 evaluations: per-axis slice
  descriptor errors, grain-interior fraction, wall time;
- ``sdss``: the austenite phase of the sdss map (its own shape, 128 x 128, 256 x 256);
- ``hex``: hexagonal synthetic maps (60 and 700 grains with random texture, 700 grains with a
  basal fibre texture);
- ``mcrpy``: per-iteration time of MCRpy 0.2.0's own 2D two-phase reconstruction
  (``FFTCorrelations``) and of ours on the same pixel count, in this run.

Needs ``../shared/ebsd`` beside the checkout. Prints one JSON object per case.
"""
import time

STARTED = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

import mcrpy_poly  # noqa: E402
from mcrpy_poly import synthetic  # noqa: E402
from mcrpy_poly.descriptors import compute_descriptors, relative_error, slice_descriptors  # noqa: E402
from mcrpy_poly.io import load_quaternion_array  # noqa: E402
from mcrpy_poly.reconstruction import grain_interior_fraction, reconstruct  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "ebsd"
NAMES = ("correlations", "variogram", "mean_variation")


def mcrpy_map():
    return load_quaternion_array(SHARED / "mcrpy_ebsd_128x128_cubic_quaternions.npy", "m-3m", convention="mcrpy")


def variogram_share_below(candidate, target, tolerance=0.05) -> float:
    """Share of variogram entries (all channels and lag pairs) within ``tolerance`` relative error."""
    error = np.abs(candidate - target) / np.maximum(np.abs(target), 1e-12)
    return float(np.mean(error < tolerance))


def quality_2d(result, reference, char) -> dict:
    field = result.orientations.shsh(char.basis)
    names = [name for name in char.descriptors if name != "boundaries"]
    values = compute_descriptors(field, names, limit_to=char.limit_to, pairs=char.pairs)
    return dict(loss_orders=float(np.log10(result.initial_loss / result.final_loss)),
                initial_loss=result.initial_loss, final_loss=result.final_loss,
                relative_errors={n: relative_error(v.numpy(), char[n]) for n, v in values.items()},
                variogram_share_below_5pct=variogram_share_below(values["variogram"].numpy(), char["variogram"]),
                grain_interior=grain_interior_fraction(result.orientations),
                grain_interior_reference=grain_interior_fraction(reference))


def run_2d(omap, shape, optimizer="lbfgsb", max_iter=1000, **options):
    char = mcrpy_poly.characterize(omap, descriptors=NAMES + ("texture",))
    first = []
    result = reconstruct(char, shape, optimizer=optimizer, max_iter=max_iter, progress=False,
                         callback=lambda e, loss: first.append(time.perf_counter() - STARTED) if e == 1 else None,
                         **options)
    out = quality_2d(result, omap, char)
    out.update(wall_since_start_s=time.perf_counter() - STARTED, first_evaluation_since_start_s=first[0],
               timings=result.timings, level_starts=result.level_starts, evaluations=len(result.loss_history),
               loss_curve=result.loss_history[::25].tolist())
    return out


def case_2d():
    """The issue's case: correlations, variogram and mean variation (the default adds the texture)."""
    return {"issue_descriptors": run_2d(mcrpy_map(), (128, 128), descriptors=NAMES),
            "default_descriptors": run_2d(mcrpy_map(), (128, 128))}


def case_optimizers(max_iter=1000):
    omap = mcrpy_map()
    out = {}
    for optimizer in ("lbfgsb", "tfp-lbfgs", "adam", "tnc", "sgd"):
        started = time.perf_counter()
        result = run_2d(omap, (128, 128), optimizer=optimizer, max_iter=max_iter, descriptors=NAMES)
        out[optimizer] = dict(final_loss=result["final_loss"], loss_orders=result["loss_orders"],
                              seconds=time.perf_counter() - started, loss_curve=result["loss_curve"],
                              level_starts=result["level_starts"])
    return out


def case_3d():
    omap = mcrpy_map()
    char = mcrpy_poly.characterize(omap, descriptors=NAMES + ("texture",))
    started = time.perf_counter()
    result = reconstruct(char, (64, 64, 64), max_iter=500, progress=True)
    wall = time.perf_counter() - started
    field = result.orientations.shsh(char.basis)
    per_axis = {}
    for axis in range(3):
        values = slice_descriptors(field, [n for n in char.descriptors if n != "boundaries"], limit_to=char.limit_to,
                                   axis=axis, pairs=char.pairs)
        per_axis[axis] = {n: relative_error(v.numpy(), char[n]) for n, v in values.items()}
    return dict(wall_s=wall, initial_loss=result.initial_loss, final_loss=result.final_loss,
                loss_orders=float(np.log10(result.initial_loss / result.final_loss)), per_axis=per_axis,
                grain_interior=grain_interior_fraction(result.orientations),
                grain_interior_reference=grain_interior_fraction(omap), timings=result.timings)


def case_sdss():
    """The austenite of the sdss map (100 x 117, 88 grains; ferrite pixels filled from the nearest
    austenite pixel), default loss, on the map's own shape, on 128 x 128 and on a 256 x 256 RVE
    that holds several hundred grains of the map's size (a small domain's own statistics are as
    noisy as the target's)."""
    omap = mcrpy_poly.load_ebsd(SHARED / "sdss_ferrite_austenite.ang", phase="austenite").fill_unindexed()
    return {"x".join(map(str, shape)): run_2d(omap, shape) for shape in (omap.shape, (128, 128), (256, 256))}


HEX_MAPS = {"60_grains_random": dict(n_grains=60), "700_grains_random": dict(n_grains=700),
            "700_grains_basal_fibre": dict(n_grains=700, texture=("fibre", (0, 0, 1), (0, 0, 1)), spread=15.0)}


def case_hex():
    """Hexagonal Voronoi maps (default basis, K = 17). ``sampling_floor``: relative errors between
    the target and an independent sample of the same generator (next seed): descriptor
    differences that a statistically equivalent map may have."""
    out = {}
    for name, settings in HEX_MAPS.items():
        omap = synthetic.voronoi((128, 128), symmetry="6/mmm", seed=2, **settings)
        out[name] = run_2d(omap, (128, 128))
        char = mcrpy_poly.characterize(omap, descriptors=NAMES + ("texture",))
        other = mcrpy_poly.characterize(synthetic.voronoi((128, 128), symmetry="6/mmm", seed=3, **settings),
                                        descriptors=NAMES + ("texture",), limit_to=char.limit_to)
        out[name]["sampling_floor"] = {n: relative_error(other[n], char[n]) for n in char.descriptors}
    return out


def case_mcrpy():
    """Seconds per evaluation: MCRpy 0.2.0 two-phase FFTCorrelations vs ours, 128 x 128, no multigrid."""
    import mcrpy

    mcrpy_poly.enable()
    labels = synthetic.voronoi((128, 128), 40, seed=1, return_labels=True)[1]
    phases = (labels % 2).astype(float)
    settings = mcrpy.CharacterizationSettings(descriptor_types=["FFTCorrelations"], limit_to=16,
                                              use_multigrid_descriptor=False)
    descriptors = mcrpy.characterize(mcrpy.Microstructure(phases), settings)
    stamps = []
    dmcr_settings = mcrpy.ReconstructionSettings(descriptor_types=["FFTCorrelations"], max_iter=60, limit_to=16,
                                                 use_multigrid_reconstruction=False, use_multigrid_descriptor=False,
                                                 convergence_data_steps=1000)
    dmcr_settings.n_phases = descriptors["settings"].n_phases
    from mcrpy.src import DMCR

    dmcr = DMCR.DMCR(**vars(dmcr_settings))
    callback = dmcr.reconstruction_callback
    dmcr.reconstruction_callback = lambda *a, **k: (stamps.append(time.perf_counter()), callback(*a, **k))
    dmcr.reconstruct([descriptors["FFTCorrelations"]], (128, 128))
    mcrpy_per_iter = float(np.median(np.diff(stamps[5:])))
    ours = []
    char = mcrpy_poly.characterize(mcrpy_map(), descriptors=NAMES)
    reconstruct(char, (128, 128), max_iter=60, levels=1, progress=False,
                callback=lambda e, loss: ours.append(time.perf_counter()))
    ours_per_iter = float(np.median(np.diff(ours[5:])))
    return dict(mcrpy_fftcorrelations_two_phase_s_per_iter=mcrpy_per_iter,
                ours_shsh_9ch_corr_variogram_mv_s_per_iter=ours_per_iter, ratio=ours_per_iter / mcrpy_per_iter)


CASES = {"2d": case_2d, "optimizers": case_optimizers, "3d": case_3d, "sdss": case_sdss, "hex": case_hex,
         "mcrpy": case_mcrpy}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", choices=[*CASES, []], default=list(CASES))
    parser.add_argument("--out", type=Path, help="also write the results as JSON")
    parser.add_argument("--optimizer-iterations", type=int, default=1000, help="budget of each optimizer run")
    args = parser.parse_args()
    results = {"cpu_count": os.cpu_count(), "load_average_at_start": os.getloadavg()}
    for name in args.cases or list(CASES):
        results[name] = (CASES[name](args.optimizer_iterations) if name == "optimizers" else CASES[name]())
        print(json.dumps({name: results[name]}, default=float), flush=True)
    results["load_average_at_end"] = os.getloadavg()
    if args.out:
        from mcrpy_poly.atomic import save_json

        save_json(args.out, results)


if __name__ == "__main__":
    main()
