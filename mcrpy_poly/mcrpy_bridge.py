"""Thin bridge to MCRpy 0.2.0: SHSH descriptors as MCRpy plugins, orientation microstructures.

MCRpy loads a descriptor by importing ``mcrpy.descriptors.<Name>`` and calling its
``register()``; it has no entry points. :func:`enable` puts the plugin modules of
``mcrpy_poly.plugins`` into ``sys.modules`` under those names (nothing is written into
MCRpy's package) and registers them.

An MCRpy orientation microstructure is an array ``(H, W[, D], 3)`` built with
``use_multiphase=False``; MCRpy 0.2.0 leaves the representation (``ori_repr``) and the
symmetry (``project_to_fz``) to the caller. Here they are :class:`EulerAngles` (Bunge
angles in radians, orix's passive convention, as in ``.ang`` files) and
:class:`MCRpySymmetry`; :func:`mcrpy_microstructure` builds one from an
:class:`~mcrpy_poly.OrientationMap`.

Example
-------
>>> import mcrpy, mcrpy_poly
>>> from mcrpy_poly.mcrpy_bridge import MCRpySymmetry, mcrpy_microstructure
>>> mcrpy_poly.enable()
>>> ms = mcrpy_microstructure(omap)
>>> settings = mcrpy.CharacterizationSettings(descriptor_types=["SHSHCorrelations", "SHSHTexture"],
...                                           limit_to=8, symmetry=MCRpySymmetry(omap.symmetry))
>>> result = mcrpy.characterize(ms, settings)   # result["SHSHCorrelations"]: (1, mg_levels, 45, 15, 15)
"""
from __future__ import annotations

import importlib
import pickle
import sys
from pathlib import Path

import numpy as np

from ._compat import apply_numpy_shim
from .errors import InputError, ShapeError
from .orientation import OrientationMap, SHSHBasis, reduce_to_fundamental_zone, resolve_symmetry

apply_numpy_shim()

import tensorflow as tf  # noqa: E402  (after the shim: MCRpy needs it at import time)
from mcrpy.descriptors.OrientationDescriptor import OrientationDescriptor  # noqa: E402
from mcrpy.src.Symmetry import Symmetry as _MCRpySymmetryBase  # noqa: E402

#: Plugin module names (``mcrpy.descriptors.<name>``) and the descriptor each computes.
PLUGINS = {"SHSHCorrelations": "correlations", "HybridVariogram": "variogram",
           "MeanVariation": "mean_variation", "SHSHTexture": "texture"}


def enable() -> list[str]:
    """Make the SHSH plugins importable as ``mcrpy.descriptors.<Name>`` and register them.

    Idempotent. Returns the plugin names (``descriptor_types`` for MCRpy settings).
    """
    from mcrpy.src import descriptor_factory

    for name in PLUGINS:
        module = importlib.import_module(f"mcrpy_poly.plugins.{name}")
        sys.modules[f"mcrpy.descriptors.{name}"] = module
        module.register()
    assert all(name in descriptor_factory.descriptor_classes for name in PLUGINS)
    return list(PLUGINS)


# -- orientation representation ------------------------------------------------------------
def euler_to_quaternion(euler):
    """Bunge Euler angles (radians) to orix-convention unit quaternions, TensorFlow.

    Same as orix ``Rotation.from_euler``; differentiable.

    Parameters
    ----------
    euler : tf.Tensor, shape (..., 3)

    Returns
    -------
    tf.Tensor, shape (..., 4)
    """
    phi1, Phi, phi2 = tf.unstack(tf.cast(euler, tf.float64), axis=-1)
    cos_half, sin_half = tf.cos(Phi / 2), tf.sin(Phi / 2)
    plus, minus = (phi1 + phi2) / 2, (phi1 - phi2) / 2
    return tf.stack([cos_half * tf.cos(plus), -sin_half * tf.cos(minus),
                     -sin_half * tf.sin(minus), -cos_half * tf.sin(plus)], axis=-1)


class EulerAngles:
    """MCRpy ``ori_repr``: Bunge Euler angles in radians (orix convention), ``.x (..., 3)``."""

    def __init__(self, x):
        self.x = tf.convert_to_tensor(x, dtype=tf.float64)

    def numpy(self) -> np.ndarray:
        return self.x.numpy()

    def quaternions(self) -> tf.Tensor:
        """Unit quaternions ``(..., 4)``, orix convention."""
        return euler_to_quaternion(self.x)


class MCRpySymmetry(_MCRpySymmetryBase):
    """A crystal symmetry that MCRpy 0.2.0 accepts (``settings.symmetry``, ``Microstructure``).

    Parameters
    ----------
    symmetry : str or Symmetry or orix Symmetry
    """

    def __init__(self, symmetry="m-3m"):
        super().__init__()
        self.symmetry = resolve_symmetry(symmetry)

    def __repr__(self):
        return f"MCRpySymmetry({self.symmetry.name!r})"

    def project_to_fz(self, ori: EulerAngles) -> EulerAngles:
        """Equivalent Euler angles of the fundamental-zone orientations (NumPy, via orix)."""
        from orix.quaternion import Rotation

        q = euler_to_quaternion(ori.x).numpy()
        reduced = reduce_to_fundamental_zone(q.reshape(-1, 4), self.symmetry)
        return EulerAngles(Rotation(reduced).to_euler().reshape(q.shape[:-1] + (3,)))


def _resolve_mcrpy_symmetry(symmetry):
    """Our :class:`Symmetry` from what MCRpy passes (``None`` and MCRpy's stub mean cubic)."""
    if isinstance(symmetry, MCRpySymmetry):
        return symmetry.symmetry
    if symmetry is None or isinstance(symmetry, _MCRpySymmetryBase) or symmetry == "cubic":
        return resolve_symmetry("m-3m")
    return resolve_symmetry(symmetry)


def mcrpy_microstructure(omap: OrientationMap, trainable: bool = False):
    """MCRpy ``Microstructure`` of an orientation map (non-indexed pixels filled first).

    Returns
    -------
    mcrpy.Microstructure
        ``x`` of shape ``(1, H, W[, D], 3)``: Euler angles of the fundamental-zone orientations.
    """
    from mcrpy.src.Microstructure import Microstructure

    if omap.n_indexed < omap.indexed.size:
        omap = omap.fill_unindexed()
    euler = np.asarray(omap.to_orix().to_euler(), dtype=np.float64).reshape(omap.shape + (3,))
    return Microstructure(euler, use_multiphase=False, ori_repr=EulerAngles,
                          symmetry=MCRpySymmetry(omap.point_group), trainable=trainable)


# -- descriptor base class -----------------------------------------------------------------
class SHSHDescriptor(OrientationDescriptor):
    """MCRpy descriptor of the SHSH field of an orientation microstructure.

    Subclasses set ``descriptor`` (a key of :data:`mcrpy_poly.descriptors.DESCRIPTORS`).
    The descriptor function takes MCRpy's ``ms.xx`` (any representation with a
    ``quaternions()`` method, e.g. :class:`EulerAngles`, or a tensor of Euler angles
    ``(1, H, W, 3)``), evaluates the SHSH basis of ``settings.symmetry`` and
    returns MCRpy's layout ``(n_phases = 1, mg_levels, *descriptor_shape)``. With
    ``use_multigrid_descriptor`` level ``l`` describes the SHSH field average-pooled by
    ``2**l`` (pooling in SHSH space, where averaging is meaningful, unlike Euler angles),
    with MCRpy's number of levels ``floor(log2(min(H, W) / limit_to))``. The statistics are
    periodic, as MCRpy's own; a setting ``periodic=False`` (an attribute set on MCRpy's
    ``CharacterizationSettings``, which passes all its attributes) gives the non-periodic ones of
    :func:`mcrpy_poly.characterize`, for a measured map.
    """

    descriptor = ""
    is_differentiable = True

    @classmethod
    def make_descriptor(cls, desired_shape_2d=None, desired_shape_extended=None, use_multigrid_descriptor=True,
                        limit_to=8, symmetry=None, basis=None, periodic=True, **kwargs):
        from .descriptors import DESCRIPTORS

        basis = SHSHBasis(_resolve_mcrpy_symmetry(symmetry)) if basis is None else basis
        height, width = desired_shape_2d
        levels = 1
        if use_multigrid_descriptor:
            levels = int(np.floor(np.log2(min(height, width) / limit_to)))
            if levels < 1:
                raise ShapeError(f"{cls.__name__}: map {desired_shape_2d} is smaller than limit_to={limit_to}")
        function = DESCRIPTORS[cls.descriptor]

        @tf.function(autograph=False)  # plain Python loops only: skip autograph's slow conversion
        def describe(quaternions):
            field = basis.tf(tf.reshape(quaternions, [1, height, width, 4]))
            layers = []
            for level in range(levels):
                pooled = tf.nn.avg_pool2d(field, 2 ** level, 2 ** level, "VALID") if level else field
                layers.append(function(pooled[0], limit_to, periodic=bool(periodic)))
            return tf.stack(layers)[None]

        def descriptor_function(ori):
            # Representations with quaternions() (EulerAngles, the reconstruction's 4-vectors);
            # a bare tensor holds Euler angles.
            return describe(ori.quaternions() if hasattr(ori, "quaternions") else euler_to_quaternion(ori))

        return descriptor_function

    @classmethod
    def visualize_subplot(cls, descriptor_value, ax, descriptor_type=None, mg_level=None, n_phase=None):
        """Vectors as bars; stacks of maps (correlation pairs, per-channel Gram matrices)
        as a mosaic of tiles, row by row."""
        value = np.asarray(descriptor_value)
        if value.ndim == 1:
            ax.bar(np.arange(value.size), value)
            ax.set_xlabel("SHSH channel")
        else:
            tiles = value if value.ndim == 3 else value[..., value.shape[-1] // 2]  # 3D lags: central plane
            columns = int(np.ceil(np.sqrt(len(tiles))))
            rows = int(np.ceil(len(tiles) / columns))
            height, width = tiles.shape[1:]
            mosaic = np.full((rows * (height + 1), columns * (width + 1)), np.nan)
            for index, tile in enumerate(tiles):
                row, column = divmod(index, columns)
                mosaic[row * (height + 1):row * (height + 1) + height,
                       column * (width + 1):column * (width + 1) + width] = tile
            ax.imshow(mosaic, cmap="cividis")
            ax.set_xticks([])
            ax.set_yticks([])
        ax.set_title(f"{descriptor_type} l={mg_level}", fontsize=7)


def plugin(name: str):
    """The descriptor class and ``register()`` of the plugin module ``mcrpy_poly.plugins.<name>``.

    Returns
    -------
    (type, callable)
        A :class:`SHSHDescriptor` subclass named ``name`` computing ``PLUGINS[name]``, and the
        function that registers it with MCRpy's descriptor factory.
    """
    from mcrpy.src import descriptor_factory

    cls = type(name, (SHSHDescriptor,), {"descriptor": PLUGINS[name], "__module__": f"mcrpy_poly.plugins.{name}"})

    def register() -> None:
        descriptor_factory.register(name, cls)

    return cls, register


# -- MCRpy characterization pickles ---------------------------------------------------------
def load_mcrpy_characterization(path, allow_pickle: bool = False, level: int = 0):
    """Read a characterization pickle written by MCRpy (``mcrpy.save_characterization``).

    Pickles can run arbitrary code when loaded: only files you trust, and only with
    ``allow_pickle=True``.

    Parameters
    ----------
    path : str or Path
    allow_pickle : bool
        Must be ``True``.
    level : int
        Multigrid level to take (0 is the full resolution).

    Returns
    -------
    Characterization
        The SHSH plugin descriptors of phase 0 at ``level``, with MCRpy's settings
        (symmetry, limit_to, shape) as metadata. Other MCRpy descriptors are skipped.
    """
    from .descriptors import Characterization, channel_pairs

    path = Path(path)
    if not allow_pickle:
        raise InputError(f"{path}: MCRpy characterizations are pickles; pass allow_pickle=True "
                         f"only for files you trust")
    apply_numpy_shim()
    with open(path, "rb") as fh:
        data = pickle.load(fh)
    if not isinstance(data, dict) or "settings" not in data:
        raise InputError(f"{path}: not an MCRpy characterization (a dict with 'settings')")
    settings = data["settings"]
    found = {PLUGINS[name]: np.asarray(value)[0, level] for name, value in data.items() if name in PLUGINS}
    if not found:
        raise InputError(f"{path}: holds none of the SHSH descriptors {list(PLUGINS)}")
    basis = SHSHBasis(_resolve_mcrpy_symmetry(settings.symmetry))
    limits = {name: int(settings.limit_to) for name in found if name in ("correlations", "variogram")}
    shape = tuple(int(s) // 2 ** level for s in settings.desired_shape_2d)
    return Characterization(found, basis, limits, shape, pairs=channel_pairs(basis.n_terms),
                            periodic=bool(getattr(settings, "periodic", True)), source=str(path))
