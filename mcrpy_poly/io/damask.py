"""Export a grain structure for DAMASK's grid solver: ``grid.vti`` and ``material.yaml``.

Through the ``damask`` package (PyPI): a :class:`damask.GeomGrid` whose material ids are the
grain ids, and a :class:`damask.ConfigMaterial` with one material per grain (in grain order,
so material ``k`` is grain ``k``), each one constituent of the map's phase with the grain's
orientation as a DAMASK quaternion (:func:`mcrpy_poly.orientation.quaternion.to_damask`).

The phase is a **placeholder** for the user to replace: its lattice follows the crystal
symmetry (cubic ``cF``: change to ``cI`` for a BCC metal; hexagonal and trigonal ``hP`` with
the ideal ``c/a``; lower symmetries their primitive lattice with unit axis ratios) and its
mechanics is isotropic linear elasticity (E = 210 GPa, nu = 0.3) without plasticity. Put your
material's elastic constants and plasticity model there before a solver run. The
homogenization is ``SX`` (one constituent, ``pass``).

The grid's size is in metres (DAMASK's SI units): the step in um times 1e-6.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..atomic import atomic_path
from ..orientation import resolve_symmetry
from ..orientation.quaternion import to_damask
from .grain_arrays import check_grain_arrays

#: Placeholder lattice of each Laue group, with the axis ratios DAMASK needs for it.
LATTICES = {
    "m-3m": ("cF", {}), "m-3": ("cF", {}),
    "6/mmm": ("hP", {"c/a": 1.633}), "6/m": ("hP", {"c/a": 1.633}),
    "-3m": ("hP", {"c/a": 1.633}), "-3": ("hP", {"c/a": 1.633}),
    "4/mmm": ("tP", {"c/a": 1.0}), "4/m": ("tP", {"c/a": 1.0}),
    "mmm": ("oP", {"b/a": 1.0, "c/a": 1.0}),
    "2/m": ("mP", {"b/a": 1.0, "c/a": 1.0, "beta": 90.0}),
    "-1": ("aP", {"b/a": 1.0, "c/a": 1.0, "alpha": 90.0, "beta": 90.0, "gamma": 90.0}),
}
#: Isotropic elastic constants (Pa) of the placeholder, E = 210 GPa and nu = 0.3.
_E, _NU = 210e9, 0.3
_C11 = _E * (1 - _NU) / ((1 + _NU) * (1 - 2 * _NU))
_C12 = _E * _NU / ((1 + _NU) * (1 - 2 * _NU))
_C44 = (_C11 - _C12) / 2
#: The independent stiffness entries DAMASK reads for each lattice family (the rest follow).
_STIFFNESS = {
    "c": {"C_11": _C11, "C_12": _C12, "C_44": _C44},
    "h": {"C_11": _C11, "C_12": _C12, "C_13": _C12, "C_33": _C11, "C_44": _C44},
    "t": {"C_11": _C11, "C_12": _C12, "C_13": _C12, "C_33": _C11, "C_44": _C44, "C_66": _C44},
}
_STIFFNESS["o"] = _STIFFNESS["m"] = _STIFFNESS["a"] = {
    "C_11": _C11, "C_12": _C12, "C_13": _C12, "C_22": _C11, "C_23": _C12, "C_33": _C11,
    "C_44": _C44, "C_55": _C44, "C_66": _C44}
HOMOGENIZATION = "SX"
_HEADER = ("# Written by mcrpy-poly: one material per grain (material k = grain k of grain_ids.npy).\n"
           "# The phase below is a PLACEHOLDER (lattice from the crystal symmetry, isotropic elasticity, no\n"
           "# plasticity): replace its lattice and mechanical definition with your material's before a run.\n")


def placeholder_phase(symmetry) -> dict:
    """The placeholder phase definition (module docstring) for a crystal symmetry."""
    lattice, ratios = LATTICES[resolve_symmetry(symmetry).laue]
    return {"lattice": lattice, **ratios,
            "mechanical": {"output": ["F", "P"],
                           "elastic": {"type": "Hooke", **_STIFFNESS[lattice[0]]},
                           "plastic": {"type": "none"}}}


def save_damask(directory, grain_ids, grain_orientations, symmetry, step, phase_name: str = "") -> Path:
    """Write ``directory/grid.vti`` and ``directory/material.yaml``, each atomically.

    Parameters
    ----------
    directory : str or Path
    grain_ids : numpy.ndarray of int, shape (H, W) or (H, W, D)
        Grain of each voxel, ``0 .. n - 1`` (a 2D map becomes one layer of cells).
    grain_orientations : numpy.ndarray, shape (n, 4)
        Orix quaternions, one per grain.
    symmetry : str or Symmetry
        Crystal point group (chooses the placeholder lattice).
    step : float or sequence of float
        Voxel spacing ``(dy, dx[, dz])``, um.
    phase_name : str
        Name of the phase in ``material.yaml`` (default ``"Phase"``).

    Returns
    -------
    Path
        ``directory``.
    """
    import damask

    ids, orientations, spacing = check_grain_arrays(grain_ids, grain_orientations, step)
    name = phase_name or "Phase"
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    grid = damask.GeomGrid(material=ids, size=np.array(ids.shape) * spacing * 1e-6,
                           comments=["mcrpy-poly: material id = grain id"])
    with atomic_path(directory / "grid.vti") as tmp:
        grid.save(tmp)
    config = damask.ConfigMaterial().material_add(phase=name, O=to_damask(orientations),
                                                  homogenization=HOMOGENIZATION)
    config["phase"][name] = placeholder_phase(symmetry)
    config["homogenization"][HOMOGENIZATION] = {"N_constituents": 1, "mechanical": {"type": "pass"}}
    with atomic_path(directory / "material.yaml") as tmp:
        config.save(tmp)
        tmp.write_text(_HEADER + tmp.read_text())
    return directory
