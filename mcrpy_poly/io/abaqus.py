"""Export a grain structure as an Abaqus input file: a C3D8R voxel mesh, one element set per grain.

``rve.inp`` is a flat input file (no parts or assembly; Abaqus accepts it as is):

- ``*Node``: the corners of the voxels, ``(nx + 1)(ny + 1)(nz + 1)`` nodes; node
  ``1 + i + (nx + 1) (j + (ny + 1) k)`` sits at ``(i dx, j dy, k dz)``, in um (the map's unit;
  scale if your model is in mm or m). Axes as in :mod:`mcrpy_poly.io.grain_arrays`.
- ``*Element, type=C3D8R``: one element per voxel, element ``1 + i + nx (j + ny k)``, nodes
  in Abaqus' order: the bottom face (``z = k``) counter-clockwise seen from ``+z``, then the top
  face the same way (positive Jacobian).
- ``*Elset, elset=GRAIN_<g>``: the elements of grain ``g`` (``g`` as in ``grain_ids.npy``,
  from 0).
- The Euler table: per grain ``*Material, name=GRAIN_<g>`` with ``*User Material,
  constants=4`` whose one data line is ``phi1, Phi, phi2, g``: the grain's Bunge Euler angles
  in degrees (:func:`mcrpy_poly.orientation.quaternion.to_bunge_euler`), then the grain number,
  i.e. ``PROPS(1:3)`` and ``PROPS(4)`` of the UMAT, the layout of the usual crystal-plasticity
  UMATs; append your UMAT's material constants (and raise ``constants``) and add ``*Depvar``.
  ``*Solid Section, elset=GRAIN_<g>, material=GRAIN_<g>`` assigns it.
- With ``periodic=True``, the node sets of periodic boundary conditions, each pair in matching
  order (node ``n`` of one set faces node ``n`` of its partner; the ids ascend alike, so Abaqus'
  sorting keeps the pairs): ``FACE_X0`` / ``FACE_X1`` (``x = 0`` and ``x = Lx`` without their
  edges; likewise ``Y``, ``Z``), the 12 edges without corners ``EDGE_X0Y0`` ... ``EDGE_Y1Z1`` (``EDGE_<a><s><b><t>``:
  the nodes with axis ``a`` on side ``s`` and axis ``b`` on side ``t``), and the 8 corners
  ``CORNER_X0Y0Z0`` ... ``CORNER_X1Y1Z1``.

A 2D map ``(H, W)`` becomes one layer of C3D8R elements, ``dx`` thick (no plane-stress elements).
"""
from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from ..atomic import atomic_path
from ..orientation.quaternion import to_bunge_euler
from .grain_arrays import check_grain_arrays

#: Abaqus accepts at most 16 entries on a data line.
_PER_LINE = 16
#: Node corners of a C3D8R element as (di, dj, dk) offsets, in Abaqus' order.
_CORNERS = ((0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0), (0, 0, 1), (1, 0, 1), (1, 1, 1), (0, 1, 1))


def _id_lines(ids) -> str:
    ids = np.asarray(ids)
    return "".join(", ".join(str(v) for v in ids[start:start + _PER_LINE]) + "\n"
                   for start in range(0, len(ids), _PER_LINE))


def periodic_node_sets(cells) -> dict:
    """The node sets of periodic boundary conditions (module docstring) of a voxel grid.

    Parameters
    ----------
    cells : tuple of int
        ``(nx, ny, nz)`` voxels.

    Returns
    -------
    dict of str to numpy.ndarray
        Set name -> node ids (ascending), faces and edges without their boundaries; sets
        that would be empty (a grid one cell thick has no face interior across it) are left out.
    """
    points = [np.arange(n + 1) for n in cells]
    ids = 1 + np.arange(int(np.prod([n + 1 for n in cells]))).reshape(
        [n + 1 for n in reversed(cells)]).transpose(2, 1, 0)  # ids[i, j, k]
    side = [{0: p == 0, 1: p == p[-1]} for p in points]
    inner = [(p > 0) & (p < p[-1]) for p in points]
    sets = {}
    for level in (1, 2, 3):  # faces, edges, corners: `level` axes on a side, the others inside
        prefix = {1: "FACE", 2: "EDGE", 3: "CORNER"}[level]
        for axes in itertools.combinations(range(3), level):
            for sides in itertools.product((0, 1), repeat=level):
                masks = [inner[a] for a in range(3)]
                for axis, s in zip(axes, sides):
                    masks[axis] = side[axis][s]
                name = "".join(f"{'XYZ'[a]}{s}" for a, s in zip(axes, sides))
                members = np.sort(ids[np.ix_(*masks)].ravel())
                if len(members):
                    sets[f"{prefix}_{name}"] = members
    return sets


def save_abaqus(path, grain_ids, grain_orientations, symmetry, step, phase_name: str = "",
                periodic: bool = False) -> Path:
    """Write a C3D8R voxel mesh of the grains as an Abaqus ``.inp`` file, atomically.

    Parameters
    ----------
    path : str or Path
    grain_ids : numpy.ndarray of int, shape (H, W) or (H, W, D)
        Grain of each voxel, ``0 .. n - 1``.
    grain_orientations : numpy.ndarray, shape (n, 4)
        Orix quaternions, one per grain.
    symmetry : str or Symmetry
        Crystal point group (written in the heading).
    step : float or sequence of float
        Voxel spacing ``(dy, dx[, dz])``, um.
    phase_name : str
        Written in the heading.
    periodic : bool
        Also write the periodic node sets.

    Returns
    -------
    Path
    """
    ids, orientations, spacing = check_grain_arrays(grain_ids, grain_orientations, step)
    cells = ids.shape
    n_grains = len(orientations)
    nodes = np.stack(np.meshgrid(*[np.arange(n + 1) * d for n, d in zip(cells, spacing)], indexing="ij"), -1)
    nodes = nodes.transpose(2, 1, 0, 3).reshape(-1, 3)  # x fastest
    node_id = 1 + np.arange(len(nodes)).reshape([n + 1 for n in reversed(cells)]).transpose(2, 1, 0)
    i, j, k = (a.ravel() for a in np.meshgrid(*[np.arange(n) for n in cells], indexing="ij"))
    order = np.lexsort((i, j, k))  # element ids run x fastest
    i, j, k = i[order], j[order], k[order]
    connectivity = np.stack([node_id[i + di, j + dj, k + dk] for di, dj, dk in _CORNERS], axis=1)
    grain_of_element = ids[i, j, k]
    euler = to_bunge_euler(orientations, degrees=True)
    name = phase_name or "Phase"
    parts = [f"*Heading\nmcrpy-poly RVE: {n_grains} grains of {name} ({getattr(symmetry, 'name', symmetry)}), "
             f"{cells[0]} x {cells[1]} x {cells[2]} C3D8R voxels, lengths in um\n",
             "** Euler table: *User Material of GRAIN_<g>: phi1, Phi, phi2 (Bunge, degrees), g\n",
             "*Node\n"]
    parts.extend(f"{n}, {x:.10g}, {y:.10g}, {z:.10g}\n" for n, (x, y, z) in enumerate(nodes, start=1))
    parts.append("*Element, type=C3D8R\n")
    parts.extend(f"{e}, " + ", ".join(str(v) for v in row) + "\n" for e, row in enumerate(connectivity, start=1))
    element_ids = 1 + np.arange(len(connectivity))
    by_grain = np.argsort(grain_of_element, kind="stable")
    bounds = np.searchsorted(grain_of_element[by_grain], np.arange(n_grains + 1))
    for g in range(n_grains):
        parts.append(f"*Elset, elset=GRAIN_{g}\n" + _id_lines(element_ids[by_grain[bounds[g]:bounds[g + 1]]]))
    if periodic:
        for set_name, members in periodic_node_sets(cells).items():
            parts.append(f"*Nset, nset={set_name}\n" + _id_lines(members))
    for g in range(n_grains):
        phi1, phi, phi2 = euler[g]
        parts.append(f"*Solid Section, elset=GRAIN_{g}, material=GRAIN_{g}\n"
                     f"*Material, name=GRAIN_{g}\n*User Material, constants=4\n"
                     f"{phi1:.8f}, {phi:.8f}, {phi2:.8f}, {g}\n")
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text("".join(parts))
    return path
