"""Training data: random SHSH patches from orientation maps, frame-change augmentation,
per-channel scaling, and the way back to orientations.

Sample frame and array axes
---------------------------
Array axis 0 runs along sample ``y`` (rows, downwards), axis 1 along sample ``x``
(columns, to the right) and axis 2 of a volume along ``z = x cross y`` (into the
specimen): the EDAX/TSL frame orix uses for ``.ang`` files.

Augmentation is a change of sample frame
----------------------------------------
Rotating or mirroring a map picture must not just move pixels: the orientation of every
pixel is measured *relative to the sample frame*, so when the specimen is turned by a
rotation ``R`` (active, in sample coordinates) a pixel at ``p`` moves to ``R p`` and its
orientation ``o`` (orix convention, sample -> crystal) becomes ``o R^-1``, i.e. the
quaternion ``o * conj(r)``. The SHSH are computed after that.

Only **proper** rotations are used. The 90-degree rotations of the picture are rotations
about ``z``. A *mirror* of the picture (flip of rows or columns, or a transpose) is not
applied as a mirror: a mirror is improper and cannot act on an orientation (a rotation).
What is physically exact is to view the same section **from the other side** (turn the
specimen over): the 2-fold rotation about the in-plane axis on the mirror line, which
also reverses ``z``. Its in-plane picture is the mirror image, and the orientations get
that proper 2-fold. (The alternative, a true mirror image of the specimen, would need
Friedel's law to map each crystal onto its 180-degree-rotated twin and would describe
a different, enantiomorphic microstructure.)

Every augmentation imposes a **sample symmetry** on what the model learns: a rolled sheet
has orthorhombic sample symmetry, for which ``"222"`` (the 2-folds about x, y, z: the
two flips and the 180-degree rotation of the picture) is exact in distribution, but the
90-degree rotations of ``"422"`` would rotate the rolling direction onto the transverse
direction. The default is therefore no augmentation.

Volumes give 2D patches from their sections normal to ``z`` (axis 2).
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from ..errors import InputError, ShapeError
from ..orientation.orientation_map import OrientationMap
from ..orientation.quaternion import conjugate, misorientation_angle, multiply

_FOURFOLD_Z = np.array([[0, -1, 0], [1, 0, 0], [0, 0, 1]])
#: Sample-rotation groups for augmentation: rotation matrices in (x, y, z) coordinates.
SAMPLE_GROUPS = {
    "none": [np.eye(3, dtype=int)],
    "222": [np.diag(d) for d in ((1, 1, 1), (1, -1, -1), (-1, 1, -1), (-1, -1, 1))],
}
SAMPLE_GROUPS["422"] = [m @ np.linalg.matrix_power(_FOURFOLD_Z, k) for m in SAMPLE_GROUPS["222"][:2] for k in range(4)]


def rotation_quaternion(matrix) -> np.ndarray:
    """Quaternion ``(4,)`` of a proper rotation matrix (active, ``v -> M v``), scalar first."""
    m = np.asarray(matrix, dtype=float)
    if not np.allclose(m @ m.T, np.eye(3)) or np.linalg.det(m) < 0:
        raise InputError("a sample-frame change must be a proper rotation matrix")
    w = np.sqrt(max(1.0 + np.trace(m), 0.0)) / 2
    if w > 1e-6:
        v = np.array([m[2, 1] - m[1, 2], m[0, 2] - m[2, 0], m[1, 0] - m[0, 1]]) / (4 * w)
    else:  # a half-turn: the axis is the column of M + I of largest norm
        column = (m + np.eye(3))[:, np.argmax(np.diag(m))]
        v = column / np.linalg.norm(column)
    return np.concatenate([[w], v])


def rotate_map(quaternions: np.ndarray, matrix) -> np.ndarray:
    """A 2D map ``(H, W, 4)`` seen in a sample frame turned by the proper rotation ``matrix``.

    Pixels move to ``R p`` (the in-plane part; ``H == W`` for 90-degree rotations) and each
    orientation becomes ``o * conj(r)``. See the module notes.

    Returns
    -------
    numpy.ndarray, shape (H, W, 4) or (W, H, 4)
    """
    m = np.asarray(matrix)
    if abs(m[2, 2]) != 1:
        raise InputError("only rotations that keep the map plane (z up to sign) apply to a 2D map")
    moved = transform_pixels(quaternions, m)
    return multiply(moved, conjugate(rotation_quaternion(m)))


def transform_pixels(field: np.ndarray, matrix) -> np.ndarray:
    """Move the pixels of a 2D field ``(H, W, C)`` by the in-plane part of a signed
    permutation ``matrix`` (x, y, z coordinates); the channels are left unchanged."""
    # In array-axis order (axis 0 = y, axis 1 = x) the in-plane block is m[[1, 0]][:, [1, 0]].
    block = np.asarray(matrix)[np.ix_([1, 0], [1, 0])]
    source_axis = np.argmax(np.abs(block), axis=1)   # new axis a takes old axis source_axis[a]
    out = np.transpose(field, (*source_axis, 2))
    for axis in range(2):
        if block[axis, source_axis[axis]] < 0:
            out = np.flip(out, axis)
    return out


class ChannelScaler:
    """Per-channel standardisation ``(v - mean) / std`` with stored statistics.

    Attributes
    ----------
    mean, std : numpy.ndarray, shape (K,)
    low, high : numpy.ndarray, shape (K,)
        Range of the scaled training values (the sampler clips predicted fields to it).
    """

    def __init__(self, mean, std, low, high):
        self.mean, self.std, self.low, self.high = (np.asarray(a, dtype=np.float64) for a in (mean, std, low, high))

    @classmethod
    def fit(cls, values) -> ChannelScaler:
        """Statistics of ``values (..., K)``."""
        flat = np.asarray(values, dtype=np.float64).reshape(-1, np.shape(values)[-1])
        mean, std = flat.mean(axis=0), np.maximum(flat.std(axis=0), 1e-8)
        scaled = (flat - mean) / std
        return cls(mean, std, scaled.min(axis=0), scaled.max(axis=0))

    def scale(self, values) -> np.ndarray:
        return ((np.asarray(values) - self.mean) / self.std).astype(np.float32)

    def unscale(self, scaled) -> np.ndarray:
        return np.asarray(scaled, dtype=np.float64) * self.std + self.mean

    def to_dict(self) -> dict:
        return {k: getattr(self, k).tolist() for k in ("mean", "std", "low", "high")}

    @classmethod
    def from_dict(cls, d: dict) -> ChannelScaler:
        return cls(d["mean"], d["std"], d["low"], d["high"])


def map_sections(omap: OrientationMap) -> list[np.ndarray]:
    """The 2D quaternion maps ``(H, W, 4)`` of a map (itself) or volume (sections normal to z)."""
    q = omap.quaternions
    return [q] if omap.ndim == 2 else [q[:, :, k] for k in range(q.shape[2])]


class PatchDataset:
    """Random square SHSH patches from one or more orientation maps or volumes.

    The SHSH fields of every section under every augmentation rotation are computed once;
    a batch is cut from them at random positions.

    Parameters
    ----------
    maps : sequence of OrientationMap
        Fully indexed maps of one symmetry (fill non-indexed pixels first).
    basis : SHSHBasis
    patch : int
        Patch side in pixels.
    augment : {"none", "222", "422"}
        Sample-rotation group applied as frame changes (see the module notes).
    labels : sequence of int, optional
        A class label per map.
    scaler : ChannelScaler, optional
        Default: fitted to all fields (every section and rotation).
    """

    def __init__(self, maps, basis, patch: int, augment: str = "none", labels=None, scaler=None):
        if augment not in SAMPLE_GROUPS:
            raise InputError(f"unknown augmentation {augment!r}; use one of {', '.join(SAMPLE_GROUPS)}")
        if not maps:
            raise InputError("no training maps given")
        self.basis, self.patch, self.augment = basis, int(patch), augment
        self.fields, self.field_labels = [], []
        for i, omap in enumerate(maps):
            if omap.symmetry != basis.symmetry:
                raise InputError(f"map {omap.source or i} has symmetry {omap.symmetry.name}, "
                                 f"the basis {basis.symmetry.name}")
            if not omap.indexed.all():
                raise InputError(f"map {omap.source or i} has non-indexed pixels; fill them first")
            if min(omap.shape[:2]) < self.patch:
                raise ShapeError(f"map {omap.source or i} of shape {omap.shape} is smaller than the "
                                 f"{self.patch} x {self.patch} patch")
            for section in map_sections(omap):
                for matrix in SAMPLE_GROUPS[augment]:
                    self.fields.append(basis(rotate_map(section, matrix)).astype(np.float32))
                    self.field_labels.append(0 if labels is None else int(labels[i]))
        self.scaler = scaler or ChannelScaler.fit(np.concatenate([f.reshape(-1, basis.n_terms) for f in self.fields]))
        self.fields = [self.scaler.scale(f) for f in self.fields]
        windows = np.array([(f.shape[0] - self.patch + 1) * (f.shape[1] - self.patch + 1) for f in self.fields])
        self._weights = windows / windows.sum()

    def batch(self, size: int, rng) -> tuple[np.ndarray, np.ndarray]:
        """``size`` random patches ``(size, patch, patch, K)`` float32 (scaled) and their labels."""
        which = rng.choice(len(self.fields), size=size, p=self._weights)
        patches = np.empty((size, self.patch, self.patch, self.basis.n_terms), np.float32)
        for j, f in enumerate(which):
            field = self.fields[f]
            r = rng.integers(0, field.shape[0] - self.patch + 1)
            c = rng.integers(0, field.shape[1] - self.patch + 1)
            patches[j] = field[r:r + self.patch, c:c + self.patch]
        return patches, np.array([self.field_labels[f] for f in which], np.int32)


def fields_to_quaternions(scaled, scaler: ChannelScaler, basis) -> np.ndarray:
    """Generated (scaled) SHSH fields ``(..., K)`` to orientations ``(..., 4)`` (orix convention,
    fundamental zone) by the basis inverse :meth:`SHSHBasis.to_quaternion`."""
    return basis.to_quaternion(scaler.unscale(scaled))


def nearest_training_agreement(values, quaternions, training_maps, basis, tolerance_deg: float = 5.0) -> float:
    """Share of pixels whose recovered orientation lies within ``tolerance_deg`` of the
    orientation of the training pixel with the nearest SHSH vector.

    Measures how well generated SHSH vectors map onto orientations that occur in the
    training data (the inverse is exact only on the image of the basis).

    Parameters
    ----------
    values : array_like, shape (..., K)
        Generated SHSH vectors (unscaled).
    quaternions : array_like, shape (..., 4)
        Their recovered orientations.
    training_maps : sequence of OrientationMap
    basis : SHSHBasis

    Returns
    -------
    float in [0, 1]
    """
    train_q = np.concatenate([m.quaternions.reshape(-1, 4) for m in training_maps])
    train_v = basis(train_q)
    _, nearest = cKDTree(train_v).query(np.asarray(values).reshape(-1, basis.n_terms))
    angles = misorientation_angle(np.asarray(quaternions).reshape(-1, 4), train_q[nearest],
                                  basis.symmetry.quaternions)
    return float(np.mean(np.degrees(angles) <= tolerance_deg))
