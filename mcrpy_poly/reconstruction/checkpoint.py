"""Checkpoints of a running reconstruction: written periodically, read back by ``resume=``.

One ``.npz`` file (written atomically, so a crash never leaves half a checkpoint) holds the
state of the level being optimised, the loss history of the current ensemble member, where
in the run it is (member, level, evaluations done on the level), the best finished member,
and the settings as JSON: a resumed run must use the same settings.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..atomic import save_npz
from ..errors import InputError

_FORMAT = "mcrpy_poly.ReconstructionCheckpoint/1"
_BEST_SCALARS = ("level_starts", "final_loss", "initial_loss")
#: Settings that may change between a run and its resumption.
RESUMABLE_CHANGES = ("progress", "checkpoint", "checkpoint_every", "resume")


@dataclass
class Checkpoint:
    """Where a reconstruction stands.

    Attributes
    ----------
    settings : dict
        The run's settings (JSON types).
    member : int
        Ensemble member being run (0-based).
    level : int
        Multigrid level being run (0 = coarsest).
    level_done : int
        Loss evaluations done on that level.
    state : numpy.ndarray, shape (*level_shape, 4)
        The state after the last evaluation.
    history : numpy.ndarray
        Loss of every evaluation of this member so far.
    level_starts : list of int
        Index into ``history`` where each level began.
    finished_losses : list of float
        Final loss of every finished member.
    initial_state : numpy.ndarray, shape (*shape, 4)
        This member's random start on the final grid (its loss is reported at the end).
    best : dict or None
        ``{"state", "history", "level_starts", "final_loss", "initial_loss"}`` of the finished
        member with the lowest final loss.
    """

    settings: dict
    member: int
    level: int
    level_done: int
    state: np.ndarray
    history: np.ndarray
    level_starts: list
    finished_losses: list = field(default_factory=list)
    initial_state: np.ndarray | None = None
    best: dict | None = None

    def save(self, path) -> Path:
        meta = dict(format=_FORMAT, settings=self.settings, member=self.member, level=self.level,
                    level_done=self.level_done, level_starts=self.level_starts,
                    finished_losses=self.finished_losses,
                    best=None if self.best is None else {key: self.best[key] for key in _BEST_SCALARS})
        arrays = dict(state=self.state, history=np.asarray(self.history, dtype=np.float64),
                      initial_state=self.initial_state)
        if self.best is not None:
            arrays.update(best_state=self.best["state"], best_history=self.best["history"])
        return save_npz(path, metadata=np.array(json.dumps(meta)), **arrays)


def load_checkpoint(path) -> Checkpoint:
    """Read a checkpoint written by :meth:`Checkpoint.save`."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no checkpoint to resume from")
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["metadata"]))
            arrays = {key: data[key] for key in data.files if key != "metadata"}
    except (OSError, KeyError, ValueError) as exc:
        raise InputError(f"{path}: not a reconstruction checkpoint ({exc})") from None
    if meta.get("format") != _FORMAT:
        raise InputError(f"{path}: unknown checkpoint format {meta.get('format')!r}")
    best = None
    if "best_state" in arrays:
        best = dict(state=arrays["best_state"], history=arrays["best_history"], **meta["best"])
    return Checkpoint(meta["settings"], meta["member"], meta["level"], meta["level_done"], arrays["state"],
                      arrays["history"], meta["level_starts"], meta["finished_losses"], arrays["initial_state"], best)


def check_compatible(checkpoint: Checkpoint, settings: dict, path) -> None:
    """Raise :class:`InputError` naming the first setting that differs from the checkpoint's."""
    for key in sorted(set(settings) | set(checkpoint.settings)):
        if key in RESUMABLE_CHANGES:
            continue
        if json.dumps(settings.get(key)) != json.dumps(checkpoint.settings.get(key)):
            raise InputError(f"{path}: the checkpoint was written with {key}={checkpoint.settings.get(key)!r}, "
                             f"this run has {key}={settings.get(key)!r}")
