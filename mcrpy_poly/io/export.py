"""Exporters for 3D orientation volumes: VTK ImageData (``.vti``, ParaView) and DREAM.3D (``.dream3d``).

Axis convention: an :class:`~mcrpy_poly.OrientationMap` of shape ``(H, W, D)`` is written with
``x`` along axis 1 (W), ``y`` along axis 0 (H) and ``z`` along axis 2 (D), so that each section
normal to ``z`` is the ``(H, W)`` map as it appears in a 2D ``.ang`` file (rows = ``y``).
Both formats store cell data with ``x`` running fastest.

Arrays written, per cell:

- ``EulerAngles``: Bunge (ZXZ, passive) Euler angles in radians, as orix, EDAX and DREAM.3D use them;
- ``Quaternions`` (``.vti`` only): the orix-convention unit quaternions ``(w, x, y, z)``;
- ``Phases``: 1 for an indexed voxel, 0 otherwise;
- ``FeatureIds`` (when grain ids are given): the grain of each voxel in DREAM.3D's numbering,
  ``grain id + 1`` (``1 .. n``; 0 for a voxel in no grain), so grain ``k`` of ``grain_ids.npy``
  is feature ``k + 1``.
"""
from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np

from ..atomic import atomic_path
from ..errors import InputError
from ..orientation.quaternion import to_bunge_euler

#: DREAM.3D ``CrystalStructures`` code of each Laue group (EBSDLib's enumeration).
DREAM3D_CRYSTAL_STRUCTURES = {
    "6/mmm": 0, "m-3m": 1, "6/m": 2, "m-3": 3, "-1": 4, "2/m": 5, "mmm": 6, "4/m": 7, "4/mmm": 8,
    "-3": 9, "-3m": 10,
}


def _grid_size(omap):
    """``(nx, ny, nz)`` of a volume; raises :class:`InputError` for a 2D map."""
    if omap.ndim != 3:
        raise InputError(f"3D exporters need a volume (H, W, D); this map has shape {omap.shape}")
    return omap.shape[1], omap.shape[0], omap.shape[2]


def _cell_arrays(omap, grain_ids=None):
    """``(name, array (z, y, x, n_components))`` of the cell data, x fastest when raveled."""
    euler = to_bunge_euler(omap.quaternions)
    phases = omap.indexed.astype(np.int32)[..., None]
    to_zyx = (2, 0, 1, 3)
    arrays = [("EulerAngles", np.transpose(euler, to_zyx)),
              ("Quaternions", np.transpose(omap.quaternions, to_zyx)),
              ("Phases", np.transpose(phases, to_zyx))]
    if grain_ids is not None:
        grain_ids = np.asarray(grain_ids)
        if grain_ids.shape != omap.shape:
            raise InputError(f"grain ids of shape {grain_ids.shape} for a volume of shape {omap.shape}")
        feature_ids = (np.maximum(grain_ids, -1) + 1).astype(np.int32)[..., None]
        arrays.append(("FeatureIds", np.transpose(feature_ids, to_zyx)))
    return arrays


def _spacing_xyz(omap):
    dy, dx, dz = omap.step
    return dx, dy, dz


def save_vti(path, omap, grain_ids=None) -> Path:
    """Write a 3D map as VTK XML ImageData (``.vti``) with cell data, atomically.

    Parameters
    ----------
    path : str or Path
    omap : OrientationMap
        Shape ``(H, W, D)``; ``step`` gives the voxel spacing (um).
    grain_ids : numpy.ndarray of int, shape (H, W, D), optional
        Grain of each voxel (``0 .. n - 1``, -1 for none), written as ``FeatureIds``.
    """
    nx, ny, nz = _grid_size(omap)
    sx, sy, sz = _spacing_xyz(omap)
    vtk_types = {np.dtype(np.float64): "Float64", np.dtype(np.int32): "Int32"}
    pieces = []
    for name, array in _cell_arrays(omap, grain_ids):
        raw = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
        payload = base64.b64encode(np.uint64(len(raw)).astype("<u8").tobytes() + raw).decode("ascii")
        pieces.append(f'        <DataArray type="{vtk_types[array.dtype]}" Name="{name}" '
                      f'NumberOfComponents="{array.shape[-1]}" format="binary">\n          {payload}\n'
                      f'        </DataArray>\n')
    extent = f"0 {nx} 0 {ny} 0 {nz}"
    text = (f'<?xml version="1.0"?>\n'
            f'<VTKFile type="ImageData" version="1.0" byte_order="LittleEndian" header_type="UInt64">\n'
            f'  <ImageData WholeExtent="{extent}" Origin="0 0 0" Spacing="{sx} {sy} {sz}">\n'
            f'    <Piece Extent="{extent}">\n'
            f'      <CellData Scalars="Phases" Vectors="EulerAngles">\n{"".join(pieces)}      </CellData>\n'
            f'    </Piece>\n  </ImageData>\n</VTKFile>\n')
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return path


def save_dream3d(path, omap, grain_ids=None) -> Path:
    """Write a 3D map as a DREAM.3D file (HDF5, ``ImageDataContainer`` layout), atomically.

    Holds ``CellData/EulerAngles`` (float32, radians), ``CellData/Phases`` (int32) and, with
    ``grain_ids`` (shape ``(H, W, D)``, ``0 .. n - 1``), ``CellData/FeatureIds`` (int32, grain id
    + 1), and the ensemble arrays ``CrystalStructures`` and ``LatticeConstants`` (unit cube
    placeholder), which DREAM.3D's *Read DREAM.3D Data File* filter and its orientation filters need.
    """
    import h5py

    dims = np.array(_grid_size(omap), dtype=np.uint64)
    laue = omap.symmetry.laue
    structure = DREAM3D_CRYSTAL_STRUCTURES.get(laue, 999)
    arrays = {name: a for name, a in _cell_arrays(omap, grain_ids)}
    path = Path(path)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["FileVersion"] = np.bytes_("7.0")
        f.attrs["DREAM3D Version"] = np.bytes_("6.5.171")
        container = f.create_group("DataContainers/ImageDataContainer")
        geometry = container.create_group("_SIMPL_GEOMETRY")
        for key, value in (("GeometryName", "ImageGeometry"), ("GeometryTypeName", "ImageGeometry")):
            geometry.attrs[key] = np.bytes_(value)
        geometry.attrs["GeometryType"] = np.array([0], dtype=np.uint32)
        geometry.attrs["SpatialDimensionality"] = np.array([3], dtype=np.uint32)
        geometry.attrs["UnitDimensionality"] = np.array([3], dtype=np.uint32)
        geometry.create_dataset("DIMENSIONS", data=dims)
        geometry.create_dataset("ORIGIN", data=np.zeros(3, dtype=np.float32))
        geometry.create_dataset("SPACING", data=np.array(_spacing_xyz(omap), dtype=np.float32))
        cells = _attribute_matrix(container, "CellData", 3, dims)
        _data_array(cells, "EulerAngles", arrays["EulerAngles"].astype(np.float32), dims)
        _data_array(cells, "Phases", arrays["Phases"], dims)
        if "FeatureIds" in arrays:
            _data_array(cells, "FeatureIds", arrays["FeatureIds"], dims)
        ensemble_dims = np.array([2], dtype=np.uint64)
        ensemble = _attribute_matrix(container, "CellEnsembleData", 11, ensemble_dims)
        _data_array(ensemble, "CrystalStructures", np.array([[999], [structure]], dtype=np.uint32), ensemble_dims)
        lattice = np.array([[0.0] * 6, [1.0, 1.0, 1.0, 90.0, 90.0, 90.0]], dtype=np.float32)
        _data_array(ensemble, "LatticeConstants", lattice, ensemble_dims)
        f.create_group("DataContainerBundles")
        pipeline = f.create_group("Pipeline")
        pipeline.attrs["Pipeline Version"] = np.array([2], dtype=np.int32)
        pipeline.create_dataset("Pipeline", data=np.bytes_(json.dumps(
            {"PipelineBuilder": {"Name": "mcrpy_poly export", "Number_Filters": 0, "Version": 6}})))
    return path


def _attribute_matrix(container, name, matrix_type, tuple_dims):
    group = container.create_group(name)
    group.attrs["AttributeMatrixType"] = np.array([matrix_type], dtype=np.uint32)
    group.attrs["TupleDimensions"] = tuple_dims
    return group


def _data_array(group, name, array, tuple_dims):
    dtype_names = {np.dtype(np.float32): "float", np.dtype(np.int32): "int32_t", np.dtype(np.uint32): "uint32_t"}
    dataset = group.create_dataset(name, data=array)
    dataset.attrs["ComponentDimensions"] = np.array([array.shape[-1]], dtype=np.uint64)
    dataset.attrs["DataArrayVersion"] = np.array([2], dtype=np.int32)
    dataset.attrs["ObjectType"] = np.bytes_(f"DataArray<{dtype_names[array.dtype]}>")
    dataset.attrs["TupleDimensions"] = tuple_dims
    dataset.attrs["Tuple Axis Dimensions"] = np.bytes_(",".join(
        f"{axis}={int(n)}" for axis, n in zip("xyz", tuple_dims)))
    return dataset
