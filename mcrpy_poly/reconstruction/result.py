"""The result of a reconstruction, and the grain-interior measure used to judge it."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..atomic import atomic_path, save_json
from ..grains import segment_grains
from ..orientation import OrientationMap


def grain_interior_fraction(omap: OrientationMap, tolerance_deg: float = 5.0) -> float:
    """Fraction of pixels whose face neighbours on the periodic grid all lie within
    ``tolerance_deg`` of them (symmetry-aware; :attr:`mcrpy_poly.grains.Grains.interior_fraction`).
    A noisy field gives about 0; a map of large grains about ``1 - boundary pixels / all pixels``."""
    return segment_grains(omap, tolerance_deg, periodic=True, min_size=1).interior_fraction


@dataclass
class Reconstruction:
    """A reconstructed orientation map or volume and how it was obtained.

    Attributes
    ----------
    orientations : OrientationMap
        Orientations in the fundamental zone (orix convention).
    loss_history : numpy.ndarray
        Loss after every evaluation of the kept ensemble member, all levels in a row.
    settings : dict
        Everything that determines the run (JSON types).
    level_starts : list of int
        Index into ``loss_history`` where each multigrid level began (coarse to fine).
    initial_loss : float
        Final-grid loss of the initial state (by default a spatially uncorrelated random field).
    final_loss : float
        Loss of the returned state (the best evaluation on the final level).
    ensemble_losses : list of float
        Final loss of every ensemble member (the kept one has the lowest).
    relative_errors : dict of str to float
        ``||d - d_target|| / ||d_target||`` per descriptor at the end (for 2D -> 3D the
        largest over the three axes of the slice-averaged descriptors).
    timings : dict of str to float
        Seconds per stage.
    """

    orientations: OrientationMap
    loss_history: np.ndarray
    settings: dict
    level_starts: list = field(default_factory=lambda: [0])
    initial_loss: float = float("nan")
    final_loss: float = float("nan")
    ensemble_losses: list = field(default_factory=list)
    relative_errors: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)

    def __repr__(self):
        return (f"Reconstruction(shape={self.orientations.shape}, evaluations={len(self.loss_history)}, "
                f"loss {self.initial_loss:.3g} -> {self.final_loss:.3g})")

    def metadata(self) -> dict:
        """Everything but the arrays, as JSON types."""
        spread = np.asarray(self.ensemble_losses, dtype=float)
        return dict(format="mcrpy_poly.Reconstruction/1", settings=self.settings, level_starts=self.level_starts,
                    initial_loss=self.initial_loss, final_loss=self.final_loss,
                    ensemble_losses=[float(v) for v in spread],
                    ensemble_spread=None if spread.size < 2 else dict(
                        min=float(spread.min()), median=float(np.median(spread)), max=float(spread.max())),
                    relative_errors=self.relative_errors, timings=self.timings)

    def save(self, directory) -> Path:
        """Write ``orientations.npz`` (OrientationMap), ``reconstruction.npy`` (orix quaternions),
        ``loss_history.npy`` and ``reconstruction.json`` into ``directory``, each atomically."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.orientations.save(directory / "orientations.npz")
        for name, array in (("reconstruction.npy", self.orientations.quaternions),
                            ("loss_history.npy", np.asarray(self.loss_history, dtype=np.float64))):
            with atomic_path(directory / name) as tmp, open(tmp, "wb") as fh:
                np.save(fh, array)
        save_json(directory / "reconstruction.json", self.metadata())
        return directory

    @classmethod
    def load(cls, directory) -> Reconstruction:
        """Read a result written by :meth:`save`."""
        directory = Path(directory)
        meta = json.loads((directory / "reconstruction.json").read_text())
        return cls(OrientationMap.load(directory / "orientations.npz"),
                   np.load(directory / "loss_history.npy", allow_pickle=False), meta["settings"],
                   meta["level_starts"], meta["initial_loss"], meta["final_loss"], meta["ensemble_losses"],
                   meta["relative_errors"], meta["timings"])
