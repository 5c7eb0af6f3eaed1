"""mcrpy-poly: statistically equivalent polycrystals from EBSD orientation maps.

Layers, from the bottom up:

- :mod:`mcrpy_poly.orientation`: quaternions, crystal symmetry, SHSH bases, OrientationMap;
- :mod:`mcrpy_poly.io`: EBSD files in and out;
- :mod:`mcrpy_poly.synthetic`: synthetic polycrystals (Voronoi);
- :mod:`mcrpy_poly.descriptors`: differentiable SHSH statistics (TensorFlow), :func:`characterize`;
- :mod:`mcrpy_poly.reconstruction` (:func:`reconstruct`) and :mod:`mcrpy_poly.diffusion` (Keras 3, any
  backend) generate microstructures from them;
- :mod:`mcrpy_poly.evaluate` compares any two maps (grains, distributions, pole figures, report);
- :mod:`mcrpy_poly.cli` holds the commands; the MCRpy bridge (:func:`enable`,
  :mod:`mcrpy_poly.mcrpy_bridge`) is kept thin and separate.

Heavy dependencies (TensorFlow, orix) are imported only when a function needs them.
"""
from importlib import import_module

from ._compat import apply_numpy_shim
from .errors import (
    EBSDReadError,
    InputError,
    MalformedFileError,
    NoIndexedPixelsError,
    PhaseSelectionError,
    SymmetryError,
    UnsupportedFormatError,
)
from .io.ebsd import load_ebsd, save_ang
from .orientation import OrientationMap, SHSHBasis, Symmetry, resolve_symmetry, shsh_dimension

apply_numpy_shim()

__version__ = "0.1.0"

# Names served lazily from submodules that pull in TensorFlow or MCRpy.
_LAZY = {
    "characterize": "mcrpy_poly.descriptors.characterization",
    "Characterization": "mcrpy_poly.descriptors.characterization",
    "enable": "mcrpy_poly.mcrpy_bridge",
    "reconstruct": "mcrpy_poly.reconstruction",
    "Reconstruction": "mcrpy_poly.reconstruction",
}


def load_characterization(path, allow_pickle: bool = False):
    """Read a saved characterization: a ``.npz`` written by ``Characterization.save``
    (:func:`mcrpy_poly.descriptors.load_characterization`) or, only with ``allow_pickle=True``
    (pickles can run code: only files you trust), an MCRpy ``.pickle``
    (:func:`mcrpy_poly.mcrpy_bridge.load_mcrpy_characterization`, which needs MCRpy)."""
    from .descriptors import characterization

    if str(path).endswith(characterization.MCRPY_PICKLE_SUFFIXES):
        from .mcrpy_bridge import load_mcrpy_characterization

        return load_mcrpy_characterization(path, allow_pickle=allow_pickle)
    return characterization.load_characterization(path)


def __getattr__(name):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    if name in ("synthetic", "evaluate", "descriptors", "reconstruction", "diffusion"):
        return import_module(f"mcrpy_poly.{name}")
    raise AttributeError(f"module 'mcrpy_poly' has no attribute {name!r}")


__all__ = [
    "Characterization",
    "EBSDReadError",
    "InputError",
    "MalformedFileError",
    "NoIndexedPixelsError",
    "OrientationMap",
    "PhaseSelectionError",
    "Reconstruction",
    "SHSHBasis",
    "Symmetry",
    "SymmetryError",
    "UnsupportedFormatError",
    "characterize",
    "enable",
    "load_characterization",
    "load_ebsd",
    "reconstruct",
    "resolve_symmetry",
    "save_ang",
    "shsh_dimension",
]
