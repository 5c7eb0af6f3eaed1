"""The result of a reconstruction, and the grain-interior measure used to judge it."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..atomic import atomic_path, save_json
from ..grains import Grains, segment_grains
from ..orientation import OrientationMap
from .grain_stage import uniform_grains


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
    grains : Grains or None
        The grains of ``orientations`` when a stage of the run fixed them (the grain stage,
        :mod:`.grain_stage`: one orientation per grain); ``None`` means "segment ``orientations``
        when asked" (:meth:`grain_segmentation`).
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
    grains: Grains | None = None

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

    def grain_segmentation(self) -> Grains:
        """The grains of the result: :attr:`grains` when set, otherwise the segmentation of
        :attr:`orientations` as the grain stage makes it (:func:`.grain_stage.uniform_grains`: 5
        degrees, periodic, smallest grain :data:`mcrpy_poly.grains.MIN_SIZE`, or every component
        where none reaches it, so that every voxel has a grain). What :meth:`save`, the solver
        exporters and the summary of ``reconstruct-poly`` write; lengths in the step of
        :attr:`orientations`."""
        if self.grains is not None:
            return dataclasses.replace(self.grains, step=self.orientations.step)
        return uniform_grains(self.orientations)

    def save(self, directory, grains: Grains | None = None) -> Path:
        """Write into ``directory``, each file atomically: ``orientations.npz`` (OrientationMap),
        ``reconstruction.npy`` (orix quaternions per voxel), ``grain_ids.npy`` (int32 per voxel,
        ``0 .. n - 1``; -1 where not indexed), ``grain_orientations.npy`` (``(n, 4)``, orix
        quaternions; :meth:`grain_segmentation`, or ``grains`` where the caller has made it
        already), ``loss_history.npy`` and ``reconstruction.json``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        grains = self.grain_segmentation() if grains is None else grains
        self.orientations.save(directory / "orientations.npz")
        for name, array in (("reconstruction.npy", self.orientations.quaternions),
                            ("grain_ids.npy", grains.labels.astype(np.int32)),
                            ("grain_orientations.npy", np.asarray(grains.orientations, dtype=np.float64)),
                            ("loss_history.npy", np.asarray(self.loss_history, dtype=np.float64))):
            with atomic_path(directory / name) as tmp, open(tmp, "wb") as fh:
                np.save(fh, array)
        meta = self.metadata()
        meta["grains"] = dict(n_grains=grains.n_grains, threshold=grains.threshold, min_size=grains.min_size,
                              periodic=grains.periodic, speckle_fraction=grains.speckle_fraction,
                              given=self.grains is not None)
        save_json(directory / "reconstruction.json", meta)
        return directory

    @classmethod
    def load(cls, directory) -> Reconstruction:
        """Read a result written by :meth:`save`. Where it holds ``grain_ids.npy`` and
        ``grain_orientations.npy`` and they were given (a grain stage fixed them),
        :attr:`grains` holds their ids and orientations (no boundary statistics); otherwise
        it is ``None`` and :meth:`grain_segmentation` segments again, as :meth:`save` did."""
        directory = Path(directory)
        meta = json.loads((directory / "reconstruction.json").read_text())
        orientations = OrientationMap.load(directory / "orientations.npz")
        grains = None
        written = meta.get("grains", {})
        if written.get("given") and (directory / "grain_ids.npy").is_file():
            grains = Grains(labels=np.load(directory / "grain_ids.npy", allow_pickle=False),
                            orientations=np.load(directory / "grain_orientations.npy", allow_pickle=False),
                            symmetry=orientations.symmetry, step=orientations.step, periodic=written["periodic"],
                            threshold=written["threshold"], min_size=written["min_size"],
                            speckle_fraction=written["speckle_fraction"])
        return cls(orientations, np.load(directory / "loss_history.npy", allow_pickle=False), meta["settings"],
                   meta["level_starts"], meta["initial_loss"], meta["final_loss"], meta["ensemble_losses"],
                   meta["relative_errors"], meta["timings"], grains)
