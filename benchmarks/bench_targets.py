"""Grain fidelity with periodic and non-periodic targets, fixed and map-chosen windows (issue 15).

Usage::

    nice -n 10 python benchmarks/bench_targets.py [--max-iter 1000] [--shape 128 128] [--maps NAME ...] [--append]

Reproduces the table of ``../shared/notes_grain_fidelity.md`` on the maps at hand: each map is
characterized four ways (periodic or non-periodic statistics; correlation window 16 or chosen
from the map, :mod:`mcrpy_poly.descriptors.window`, capped by the domain), reconstructed on a
128 x 128 periodic domain with the reconstruction's defaults (multigrid levels, weights), and the
grains of the result are compared with those of the map (:mod:`mcrpy_poly.evaluate.grain_metrics`:
5 degree threshold, face neighbours, grains of at least 5 px; the map measured non-periodic, the
periodic reconstructions periodic). Maps (needs ``../shared/ebsd`` beside the checkout):

- ``sdss``: the austenite of the sdss map, 100 x 117 px (non-indexed pixels filled for the
  targets, left out of the grain analysis);
- ``sdss_crop``: its top-left 64 x 64 px;
- ``mcrpy``: MCRpy's example map, 128 x 128 px;
- ``mcrpy_crop``: its top-left 64 x 64 px;
- ``voronoi_crop``: a 100 x 75 crop of ``synthetic.voronoi((160, 160), 45, "432", seed=7)``
  (random texture, ED about 27 px; the crop is not periodic).

Prints a Markdown table and writes it to ``benchmarks/results/targets.md`` (with the command,
the machine load and the windows chosen on each map); ``--append`` adds it to the file instead
(runs with different evaluation budgets per map).
"""
from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "ebsd"
VARIANTS = [("periodic", True, "16"), ("periodic", True, "chosen"), ("non-periodic", False, "16"),
            ("non-periodic", False, "chosen")]


def load_maps(names):
    import mcrpy_poly as mp
    from mcrpy_poly import synthetic
    from mcrpy_poly.io import load_quaternion_array

    maps = {}
    if {"sdss", "sdss_crop"} & set(names):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            austenite = mp.load_ebsd(SHARED / "sdss_ferrite_austenite.ang", phase="austenite")
        maps["sdss"], maps["sdss_crop"] = austenite, austenite.crop((0, 64), (0, 64))
    if {"mcrpy", "mcrpy_crop"} & set(names):
        mcrpy_map = load_quaternion_array(SHARED / "mcrpy_ebsd_128x128_cubic_quaternions.npy", "m-3m",
                                          convention="mcrpy")
        maps["mcrpy"], maps["mcrpy_crop"] = mcrpy_map, mcrpy_map.crop((0, 64), (0, 64))
    if "voronoi_crop" in names:
        maps["voronoi_crop"] = synthetic.voronoi((160, 160), 45, "432", seed=7).crop((0, 100), (0, 75))
    return {name: maps[name] for name in names}


def percent(value) -> str:
    return "n/a" if not np.isfinite(value) else f"{100 * value:+.0f} %"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-iter", type=int, default=1000)
    parser.add_argument("--shape", type=int, nargs=2, default=(128, 128))
    parser.add_argument("--maps", nargs="+", default=["voronoi_crop", "sdss", "mcrpy", "sdss_crop", "mcrpy_crop"])
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "targets.md"))
    parser.add_argument("--append", action="store_true", help="add this run's section to --out")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    started = time.perf_counter()
    load_before = os.getloadavg()[0]

    from mcrpy_poly import SHSHBasis, characterize, reconstruct
    from mcrpy_poly.atomic import atomic_path
    from mcrpy_poly.descriptors.window import window_and_length
    from mcrpy_poly.evaluate.grain_metrics import grain_metrics, relative_grain_errors
    from mcrpy_poly.reconstruction.budget import largest_window

    shape = tuple(args.shape)
    names = ("correlations", "variogram", "mean_variation", "texture")
    rows, window_rows = [], []
    for map_name, omap in load_maps(args.maps).items():
        basis = SHSHBasis(omap.symmetry)
        reference = grain_metrics(omap, periodic=False)
        cap = largest_window(shape, basis.n_terms, names, {"variogram": 4}, basis.n_terms * (basis.n_terms + 1) // 2,
                             sliced=False)
        chosen = {periodic: window_and_length(omap, basis, periodic=periodic, max_window=cap)
                  for periodic in (True, False)}
        window_rows.append(f"| {map_name} | {omap.shape[0]} x {omap.shape[1]} | {reference['n_grains']} | "
                           f"{reference['mean_equivalent_diameter']:.1f} | {chosen[False][1]:.1f} | "
                           f"{chosen[False][0]} | {chosen[True][1]:.1f} | {chosen[True][0]} |")
        print(window_rows[-1], flush=True)
        for label, periodic, window in VARIANTS:
            limit = 16 if window == "16" else chosen[periodic][0]
            t = time.perf_counter()
            target = characterize(omap, limit_to={"correlations": limit, "variogram": 4}, basis=basis,
                                  periodic=periodic)
            result = reconstruct(target, shape, max_iter=args.max_iter, progress=False)
            metrics = grain_metrics(result.orientations, periodic=True)
            errors = relative_grain_errors(reference, metrics)
            rows.append(f"| {map_name} | {label}, window {limit}{' (chosen)' if window == 'chosen' else ''} | "
                        f"{percent(errors['mean_equivalent_diameter_error'])} | "
                        f"{percent(errors['chord_mean_y_error'])} / {percent(errors['chord_mean_x_error'])} | "
                        f"{percent(errors['grains_per_area_error'])} | {100 * metrics['speckle_fraction']:.1f} % | "
                        f"{100 * metrics['boundary_fraction']:.1f} % ({100 * reference['boundary_fraction']:.1f} %) | "
                        f"{result.relative_errors['correlations']:.3f} | {time.perf_counter() - t:.0f} s |")
            print(rows[-1], flush=True)

    header = ("| map | target | ED | chords y / x | grains per area | speckle | boundary pairs (map) | "
              "correlation error | time |\n|---|---|---|---|---|---|---|---|---|")
    windows = ("| map | shape | grains | ED (px) | correlation length non-periodic (px) | window chosen | "
               "correlation length periodic (px) | window chosen |\n|---|---|---|---|---|---|---|---|")
    text = "\n".join([
        f"## {', '.join(args.maps)}: {args.max_iter} evaluations", "",
        f"Command: `nice -n 10 python benchmarks/bench_targets.py --max-iter {args.max_iter} --shape {shape[0]} "
        f"{shape[1]} --maps {' '.join(args.maps)}`; 2 shared CPU cores, load average {load_before:.1f} before and "
        f"{os.getloadavg()[0]:.1f} after; {time.perf_counter() - started:.0f} s in all.", "",
        f"Reconstructions: {shape[0]} x {shape[1]} periodic domain, {args.max_iter} evaluations, the defaults of "
        "`reconstruct` otherwise (multigrid levels, weights); variogram window 4. Grain analysis "
        "(`evaluate.grain_metrics`): 5 degree threshold, face neighbours, grains of at least 5 px, the map "
        "measured non-periodic and the reconstructions periodic; errors relative to the map. ED = mean equivalent "
        "diameter; boundary pairs = share of face-neighbour pairs across a boundary (the map's in brackets); "
        "correlation error = relative error of the reconstruction's correlations against its target.", "",
        "Windows chosen on each map:", "",
        windows, *window_rows, "",
        "Grains of the reconstructions against the map:", "",
        header, *rows, ""])
    print("\n" + text)
    out = Path(args.out)
    title = "# Grain fidelity: periodic and non-periodic targets, fixed and chosen windows (issue 15)\n\n"
    before = out.read_text() + "\n" if args.append and out.is_file() else title
    with atomic_path(out) as tmp:
        Path(tmp).write_text(before + text)


if __name__ == "__main__":
    main()
