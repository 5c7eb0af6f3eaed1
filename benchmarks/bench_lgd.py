"""Local-Global conditioning (issue 13): unconditioned DDIM, the global parts alone (GRF, IAAFT
with and without its grain step, tessellation with the reference's grains), LGD from them (literal
start), LGD with the SDEdit start and with descriptor guidance, and a DMCR reconstruction, all
against one reference map, the reference's own scatter (one half against the other) and the
floor of a statistically equivalent sampler (the reference's grains, orientations redrawn; ``--methods ""``
prints these two alone).

Usage::

    python benchmarks/bench_lgd.py [--map PATH --symmetry m-3m --convention mcrpy] [--phase NAME]
                                   [--preset tiny --patch 32 --train-minutes 20 | --model DIR]
                                   [--methods ddim,grf,...] [--n 8] [--size 128]
                                   [--lgd-sampler ddpm] [--lgd-steps N] [--out runs/bench_lgd]

Trains (or resumes) a model with ``train-ddpm --minutes`` (or takes ``--model``), samples every
method with ``sample-ddpm`` at ``--size``, reconstructs one map with :func:`mcrpy_poly.reconstruct`, and
prints one Markdown table (ensemble and mean two-point error, texture error, grains per area,
mean equivalent diameter, speckle, boundary-misorientation W1, share of pixels within 5 degrees
of a reference orientation, seconds per sample) with the reference's grain metrics above it.
Writes ``benchmarks/results/lgd_ipf_<map>[_<phase>][_<size>][_<tag>].png`` (IPF maps side by side; the
size when it is not 128, ``--tag`` when given) and
``lgd_loss_<map>_<model folder>.png`` (the training curve).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from mcrpy_poly.cli import sample_ddpm, train_ddpm
from mcrpy_poly.io.maps import load_map

SHARED = Path(__file__).resolve().parents[2] / "shared" / "ebsd"
RESULTS = Path(__file__).resolve().parent / "results"


def methods(args):
    """``{key: (name, extra sample-ddpm arguments)}`` of every sampled method."""
    condition = ["--condition", args.map, "--symmetry", args.symmetry, "--convention", args.convention]
    condition += ["--phase", args.phase] if args.phase else []
    chain = ["--t0", str(args.t0), "--sampler", args.lgd_sampler]
    chain += ["--steps", str(args.lgd_steps)] if args.lgd_steps else []
    label = f"t0 {args.t0}, {args.lgd_sampler.upper()} {args.lgd_steps or args.t0 + 1}"
    return {
        "ddim": ("unconditioned DDIM 50", ["--sampler", "ddim", "--steps", "50"]),
        "grf": ("GRF only", [*condition, "--grf-only", "--global", "grf"]),
        "iaaft-raw": ("IAAFT only, no grain step", [*condition, "--grf-only", "--global", "iaaft",
                                                    "--grain-threshold", "0"]),
        "iaaft": ("IAAFT + grain step 12 deg only", [*condition, "--grf-only", "--global", "iaaft"]),
        "tessellation": ("tessellation + REF's grains only", [*condition, "--grf-only", "--global", "tessellation"]),
        "lgd-grf": (f"LGD, GRF start (literal), {label}", [*condition, *chain, "--global", "grf"]),
        "lgd-iaaft": (f"LGD, IAAFT+grains start (literal), {label}", [*condition, *chain, "--global", "iaaft"]),
        "lgd-tessellation": (f"LGD, tessellation start (literal), {label}",
                             [*condition, *chain, "--global", "tessellation"]),
        "sdedit": (f"LGD, tessellation start (SDEdit), {label}", [*condition, *chain, "--start", "sdedit"]),
        "guidance": (f"LGD, tessellation start + guidance {args.guidance}, {label}",
                     [*condition, *chain, "--guidance-weight", str(args.guidance)]),
    }


def reconstruct_row(omap, size, limit_to, out):
    """Summary-like dict of one DMCR reconstruction of ``omap`` at ``size``."""
    import mcrpy_poly as mp
    from mcrpy_poly.diffusion.data import nearest_training_agreement
    from mcrpy_poly.evaluate.ipf import save_ipf_png

    started = time.perf_counter()
    rec = mp.reconstruct(mp.characterize(omap), (size, size))
    seconds = time.perf_counter() - started
    result = rec.orientations.replace(step=omap.step)  # lengths in the reference's unit, as the CLI writes them
    save_ipf_png(out / "sample_000_ipf.png", result, scale=max(1, 256 // size))
    basis = mp.SHSHBasis(omap.symmetry)
    return dict(seconds_per_map=dict(sampling=seconds, inversion=0.0),
                within_5_degrees_of_nearest_training_vector=nearest_training_agreement(
                    basis(result.quaternions), result.quaternions, [omap], basis),
                descriptor_errors=sample_ddpm.compare_descriptors([result], [omap], basis, limit_to),
                grain_metrics=sample_ddpm.compare_grains([result], omap))


def reference_scatter(omap, limit_to):
    """Two-point and texture errors of one half of ``omap`` against the other (top/bottom and
    left/right; halves non-periodic, as the reference): the scatter of the statistics between two
    pieces of one microstructure, each half the reference's size."""
    import mcrpy_poly as mp

    basis = mp.SHSHBasis(omap.symmetry)
    h, w = omap.shape[:2]
    halves = [(np.s_[: h // 2], np.s_[h // 2:]), (np.s_[:, : w // 2], np.s_[:, w // 2:])]

    def piece(index):
        return omap.replace(quaternions=omap.quaternions[index], indexed=omap.indexed[index])

    errors = [sample_ddpm.compare_descriptors([piece(a)], [piece(b)], basis, limit_to) for a, b in halves]
    return {name: [e[name]["mean"] for e in errors] for name in errors[0]}


def reassigned_floor(omap, n, limit_to):
    """What a statistically equivalent sampler can reach at best: ``n`` realisations of the
    reference's own grains (its exact geometry) with their orientations redrawn among its grains
    (:meth:`mcrpy_poly.grain_field.TessellationField.redrawn`), and where the reference lies among them.

    Returns
    -------
    dict
        ``ensemble`` and ``mean`` two-point error of the realisations against the reference (as in
        the table), ``texture`` (ensemble), and ``typical``: the share of realisations that lie
        farther from the mean of the others than the reference lies from the mean of all (0.5: the
        reference's correlations are a typical realisation of its grains with orientations drawn
        independently; near 0: its orientations carry a neighbour relation the draws lack).
    """
    import mcrpy_poly as mp
    from mcrpy_poly.descriptors import characterize, relative_error
    from mcrpy_poly.grain_field import TessellationField

    basis = mp.SHSHBasis(omap.symmetry)
    field = TessellationField.from_map(omap)

    def describe(quaternions):
        return characterize(omap.replace(quaternions=quaternions), ("correlations", "texture"),
                            limit_to=limit_to, basis=basis).descriptors

    target = describe(omap.quaternions)
    drawn = [describe(field.redrawn(rng=[7, i])) for i in range(n)]
    corr = np.stack([d["correlations"] for d in drawn])
    scale = np.linalg.norm(target["correlations"])
    others = (corr.sum(axis=0) - corr) / (n - 1)
    spread = np.linalg.norm((corr - others).reshape(n, -1), axis=1) / scale
    reference = np.linalg.norm(target["correlations"] - corr.mean(axis=0)) / scale
    return dict(ensemble=reference, mean=float(np.mean([relative_error(c, target["correlations"]) for c in corr])),
                texture=relative_error(np.mean([d["texture"] for d in drawn], axis=0), target["texture"]),
                typical=float(np.mean(spread > reference)))


def table(rows):
    head = ("| method | two-point error: ensemble / mean | texture error | grains per area error | "
            "mean eq. diameter error | speckle (sample) | boundary W1 (deg) | within 5 deg | s/sample |")
    lines = [head, "|" + "---|" * 9]
    for name, s in rows:
        d, g = s["descriptor_errors"], s["grain_metrics"]
        speckle = np.mean([m["speckle_fraction"] for m in g["samples"]])
        seconds = s["seconds_per_map"]["sampling"] + s["seconds_per_map"]["inversion"]
        lines.append(f"| {name} | {d['correlations']['ensemble_average_error']:.3f} / "
                     f"{d['correlations']['mean']:.3f} | {d['texture']['mean']:.3f} | "
                     f"{g['ensemble_errors']['grains_per_area_error']:+.2f} | "
                     f"{g['ensemble_errors']['mean_equivalent_diameter_error']:+.2f} | {speckle:.3f} | "
                     f"{g['ensemble_errors']['boundary_misorientation_w1']:.1f} | "
                     f"{s['within_5_degrees_of_nearest_training_vector']:.3f} | {seconds:.1f} |")
    return "\n".join(lines)


def pictures(names, folders, reference_png, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    images = [("reference", plt.imread(reference_png))] + [(n, plt.imread(f / "sample_000_ipf.png"))
                                                           for n, f in zip(names, folders)]
    fig, axes = plt.subplots(1, len(images), figsize=(3 * len(images), 3.3))
    for ax, (name, image) in zip(axes, images):
        ax.imshow(image)
        ax.set_title(name, fontsize=8)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=72)
    plt.close(fig)


def loss_curve(model_dir, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    history = np.load(Path(model_dir) / "history.npz")
    window = max(1, len(history["loss"]) // 50)
    smooth = np.convolve(history["loss"], np.ones(window) / window, mode="valid")
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.plot(history["step"][window - 1:], smooth)
    ax.set_xlabel("step")
    ax.set_ylabel(f"training loss ({window}-step mean)")
    ax.set_yscale("log")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return history


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--map", default=str(SHARED / "mcrpy_ebsd_128x128_cubic_quaternions.npy"))
    p.add_argument("--symmetry", default="m-3m")
    p.add_argument("--convention", default="mcrpy")
    p.add_argument("--phase", help="phase of a multi-phase map")
    p.add_argument("--model", help="an existing model directory: no training")
    p.add_argument("--methods", default="ddim,grf,iaaft-raw,iaaft,lgd-grf,lgd-iaaft,sdedit,guidance",
                   help="comma-separated keys of the sampled methods (default all)")
    p.add_argument("--preset", default="tiny")
    p.add_argument("--patch", type=int, default=32)
    p.add_argument("--train-minutes", type=float, default=20.0)
    p.add_argument("--n", type=int, default=8)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--guidance", type=float, default=0.3)
    p.add_argument("--lgd-sampler", choices=("ddpm", "ddim"), default="ddpm", help="paper 000: ddpm, every step")
    p.add_argument("--lgd-steps", type=int, help="denoising steps from t0 (default: every one)")
    p.add_argument("--t0", type=int, default=300, help="start timestep of the LGD chains (default 300)")
    p.add_argument("--limit-to", type=int, default=16)
    p.add_argument("--skip-dmcr", action="store_true")
    p.add_argument("--out", default="runs/bench_lgd", help="work folder (git-ignored)")
    p.add_argument("--tag", help="suffix of the picture's name (to keep another run's picture)")
    args = p.parse_args(argv)
    out = Path(args.out)
    tag = Path(args.map).stem.split("_")[0] + (f"_{args.phase}" if args.phase else "")
    model_dir = Path(args.model) if args.model else out / "model"
    chosen = methods(args)
    keys = [key for key in args.methods.split(",") if key]  # none: the reference's scatter and floor alone
    network = any("--grf-only" not in chosen[key][1] for key in keys)  # else no model is trained or read
    started = time.perf_counter()
    if network and not args.model:
        code = train_ddpm.main([args.map, "--symmetry", args.symmetry, "--convention", args.convention, "--out",
                                str(model_dir), "--preset", args.preset, "--patch", str(args.patch), "--batch",
                                "16", "--lr", "1e-3", "--ema", "0.995", "--steps", "1000000", "--minutes",
                                str(args.train_minutes), "--checkpoint-every", "500", "--no-xla"]
                               + (["--phase", args.phase] if args.phase else []))
        print(f"train-ddpm exit {code}", flush=True)
    if network:
        history = loss_curve(model_dir, RESULTS / f"lgd_loss_{tag}_{model_dir.name}.png")
        print(f"model {model_dir}: {int(history['step'][-1])} steps; loss first 100 steps "
              f"{history['loss'][:100].mean():.4f}, last 100 {history['loss'][-100:].mean():.4f} "
              f"({time.perf_counter() - started:.0f} s)", flush=True)
    rows, names, folders = [], [], []
    for key in keys:
        name, extra = chosen[key]
        folder = out / key
        code = sample_ddpm.main([*([str(model_dir)] if network else []), "--out", str(folder), "--n", str(args.n),
                                 "--size", str(args.size), "--limit-to", str(args.limit_to), *extra])
        if code == 0:
            rows.append((name, json.loads((folder / "summary.json").read_text())))
            names.append(name)
            folders.append(folder)
        print(f"{name}: exit {code}", flush=True)
    omap = load_map(args.map, args.phase, args.symmetry, args.convention).fill_unindexed()
    if not args.skip_dmcr:
        folder = out / "dmcr"
        folder.mkdir(parents=True, exist_ok=True)
        rows.append(("DMCR reconstruction (1 map)", reconstruct_row(omap, args.size, args.limit_to, folder)))
        names.append("DMCR reconstruction")
        folders.append(folder)
    conditioned = next((i for i, (_, s) in enumerate(rows) if s["condition"]), None)
    if conditioned is not None:
        reference = rows[conditioned][1]["grain_metrics"]["reference"]
        print(f"\nreference grains: {reference['n_grains']}, {reference['grains_per_area']:.4f} per um^2, mean "
              f"equivalent diameter {reference['mean_equivalent_diameter']:.2f} um, speckle "
              f"{reference['speckle_fraction']:.3f}\n")
        print(table(rows))
    scatter = reference_scatter(omap, args.limit_to)
    print("\nreference's own scatter, one half against the other (top/bottom, left/right): two-point error "
          + " / ".join(f"{e:.3f}" for e in scatter["correlations"]) + ", texture error "
          + " / ".join(f"{e:.3f}" for e in scatter["texture"]))
    floor = reassigned_floor(omap, args.n, args.limit_to)
    print(f"reference's grains, orientations redrawn ({args.n} realisations): two-point error "
          f"{floor['ensemble']:.3f} / {floor['mean']:.3f}, texture error {floor['texture']:.3f}; share of "
          f"realisations farther from the others' mean than the reference: {floor['typical']:.2f}")
    suffix = ("" if args.size == 128 else f"_{args.size}") + (f"_{args.tag}" if args.tag else "")
    if conditioned is not None:
        pictures(names, folders, folders[conditioned] / "reference_ipf.png", RESULTS / f"lgd_ipf_{tag}{suffix}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
