"""Solver exports: the convention conversions against damask and orix, the DAMASK files read back
with damask itself, the Abaqus file read back with a small parser of this test's own."""
import re

import damask
import numpy as np
import pytest
from orix.quaternion import Rotation

from mcrpy_poly import synthetic
from mcrpy_poly.errors import InputError
from mcrpy_poly.grains import segment_grains
from mcrpy_poly.io.abaqus import save_abaqus
from mcrpy_poly.io.damask import save_damask
from mcrpy_poly.orientation.quaternion import from_axis_angle, random_uniform, to_bunge_euler, to_damask

KNOWN_EULER_DEG = np.array([30.0, 40.0, 50.0])


def _matrix(q):
    return Rotation(q).to_matrix()


# -- conventions ---------------------------------------------------------------------------------
def test_damask_quaternion_of_a_known_rotation():
    """Bunge (30, 40, 50) deg: orix and damask build it from the angles independently."""
    orix_q = Rotation.from_euler(np.radians(KNOWN_EULER_DEG)).data[0]
    damask_q = damask.Rotation.from_Euler_angles(KNOWN_EULER_DEG, degrees=True).quaternion
    np.testing.assert_allclose(to_damask(orix_q), damask_q, atol=1e-12)
    assert not np.allclose(orix_q, damask_q)  # the conversion is not the identity


def test_damask_quaternions_give_orix_rotation_matrices():
    q = random_uniform(500, rng=3)
    np.testing.assert_allclose(damask.Rotation(to_damask(q)).as_matrix(), _matrix(q), atol=1e-12)
    assert np.all(to_damask(q)[:, 0] >= 0)


def test_bunge_euler_of_a_known_rotation_against_orix_and_damask():
    orix_q = Rotation.from_euler(np.radians(KNOWN_EULER_DEG)).data
    np.testing.assert_allclose(to_bunge_euler(orix_q, degrees=True)[0], KNOWN_EULER_DEG, atol=1e-10)
    q = random_uniform(500, rng=4)
    np.testing.assert_allclose(to_bunge_euler(q), Rotation(q).to_euler(), atol=1e-10)
    np.testing.assert_allclose(to_bunge_euler(q), damask.Rotation(to_damask(q)).as_Euler_angles(), atol=1e-10)


def test_bunge_euler_at_the_gimbal_lock():
    """Phi = 0 and Phi = pi: only phi1 -+ phi2 is defined; the rotation must still be the same."""
    q = from_axis_angle([[0, 0, 1], [1, 1, 0], [0, 0, 1]], [0.7, np.pi, 0.0])
    euler = to_bunge_euler(q)
    np.testing.assert_allclose(euler[:, 1], [0.0, np.pi, 0.0], atol=1e-12)
    np.testing.assert_allclose(Rotation.from_euler(euler).to_matrix(), _matrix(q), atol=1e-12)


# -- DAMASK --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def volume_grains():
    volume = synthetic.voronoi((6, 5, 4), 5, seed=2, step=0.5)
    return volume, segment_grains(volume, periodic=True, min_size=1)


def test_damask_files_read_back_with_damask(volume_grains, tmp_path):
    volume, grains = volume_grains
    save_damask(tmp_path, grains.labels, grains.orientations, volume.point_group, volume.step, "Iron fcc")
    grid = damask.GeomGrid.load(tmp_path / "grid.vti")
    np.testing.assert_array_equal(grid.cells, [5, 6, 4])  # x = axis 1 (W), y = axis 0 (H), z = axis 2
    np.testing.assert_allclose(grid.size, np.array([5, 6, 4]) * 0.5e-6)
    for y, x, z in [(0, 0, 0), (5, 1, 3), (2, 4, 1)]:
        assert grid.material[x, y, z] == grains.labels[y, x, z]
    config = damask.ConfigMaterial.load(tmp_path / "material.yaml")
    assert config.is_complete
    assert len(config["material"]) == grains.n_grains == len(np.unique(grid.material))
    assert config["phase"]["Iron fcc"]["lattice"] == "cF"
    stored = np.array([m["constituents"][0]["O"] for m in config["material"]])
    np.testing.assert_allclose(damask.Rotation(stored).as_matrix(), _matrix(grains.orientations), atol=1e-6)
    assert (tmp_path / "material.yaml").read_text().startswith("# Written by mcrpy-poly")


def test_damask_hexagonal_placeholder_and_2d_map(tmp_path):
    section = synthetic.voronoi((8, 6), 3, symmetry="6/mmm", seed=1)
    grains = segment_grains(section, periodic=True, min_size=1)
    save_damask(tmp_path, grains.labels, grains.orientations, "6/mmm", section.step)
    grid = damask.GeomGrid.load(tmp_path / "grid.vti")
    np.testing.assert_array_equal(grid.cells, [6, 8, 1])  # one layer of cells
    phase = damask.ConfigMaterial.load(tmp_path / "material.yaml")["phase"]["Phase"]
    assert phase["lattice"] == "hP" and phase["c/a"] == pytest.approx(1.633)
    assert {"C_13", "C_33"} <= set(phase["mechanical"]["elastic"])


def test_exporters_refuse_voxels_without_a_grain(volume_grains, tmp_path):
    volume, grains = volume_grains
    labels = grains.labels.copy()
    labels[0, 0, 0] = -1
    with pytest.raises(InputError, match="grain ids"):
        save_damask(tmp_path / "d", labels, grains.orientations, "m-3m", 1.0)
    with pytest.raises(InputError, match="shape"):
        save_abaqus(tmp_path / "a.inp", grains.labels, grains.orientations[:, :3], "m-3m", 1.0)
    assert not (tmp_path / "d").exists() and not (tmp_path / "a.inp").exists()


# -- Abaqus --------------------------------------------------------------------------------------
def parse_inp(path):
    """The keyword blocks of an Abaqus input file: nodes, elements, element and node sets,
    materials with their constants, sections."""
    model = dict(nodes={}, elements={}, elsets={}, nsets={}, materials={}, sections={}, element_type=None)
    block, name = None, None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("**"):
            continue
        if line.startswith("*"):
            keyword, *options = [part.strip() for part in line.split(",")]
            options = dict(o.split("=") for o in options if "=" in o)
            block = keyword.lower()
            if block == "*element":
                model["element_type"] = options["type"]
            elif block in ("*elset", "*nset"):
                name = options["elset" if block == "*elset" else "nset"]
                model[block[1:] + "s"][name] = []
            elif block == "*material":
                name = options["name"]
            elif block == "*user material":
                model["materials"][name] = dict(n_constants=int(options["constants"]), constants=[])
            elif block == "*solid section":
                model["sections"][options["elset"]] = options["material"]
            continue
        values = [v for v in re.split(r"\s*,\s*", line) if v]
        if block == "*node":
            model["nodes"][int(values[0])] = np.array(values[1:], float)
        elif block == "*element":
            model["elements"][int(values[0])] = [int(v) for v in values[1:]]
        elif block in ("*elset", "*nset"):
            model[block[1:] + "s"][name].extend(int(v) for v in values)
        elif block == "*user material":
            model["materials"][name]["constants"].extend(float(v) for v in values)
    return model


def test_abaqus_mesh_read_back(volume_grains, tmp_path):
    volume, grains = volume_grains
    path = save_abaqus(tmp_path / "rve.inp", grains.labels, grains.orientations, volume.point_group,
                       volume.step, "fcc")
    model = parse_inp(path)
    h, w, d = volume.shape
    assert model["element_type"] == "C3D8R"
    assert len(model["nodes"]) == (h + 1) * (w + 1) * (d + 1) and len(model["elements"]) == h * w * d
    assert len(model["elsets"]) == grains.n_grains == len(model["materials"]) == len(model["sections"])
    coords = np.array([model["nodes"][n] for n in sorted(model["nodes"])])
    np.testing.assert_allclose(coords.max(axis=0), [w * 0.5, h * 0.5, d * 0.5])
    for nodes in model["elements"].values():
        corners = np.array([model["nodes"][n] for n in nodes])
        edges = np.array([corners[1] - corners[0], corners[3] - corners[0], corners[4] - corners[0]])
        assert np.linalg.det(edges) == pytest.approx(0.125)  # positive Jacobian: Abaqus' node order
    # every element's grain, from its centre, as the grain ids say
    for g in range(grains.n_grains):
        members = model["elsets"][f"GRAIN_{g}"]
        centres = np.array([np.mean([model["nodes"][n] for n in model["elements"][e]], axis=0) for e in members])
        x, y, z = (np.floor(centres / 0.5).astype(int)).T
        assert np.all(grains.labels[y, x, z] == g)
        assert model["sections"][f"GRAIN_{g}"] == f"GRAIN_{g}"
        constants = model["materials"][f"GRAIN_{g}"]["constants"]
        assert len(constants) == model["materials"][f"GRAIN_{g}"]["n_constants"] == 4 and constants[3] == g
        rotation = Rotation.from_euler(np.radians(constants[:3]))  # orix reads the table as Bunge angles
        np.testing.assert_allclose(rotation.to_matrix()[0], _matrix(grains.orientations[g])[0], atol=1e-6)
    assert sum(len(m) for m in model["elsets"].values()) == h * w * d


def test_abaqus_periodic_node_sets_pair_up(tmp_path):
    section = synthetic.voronoi((4, 5), 3, seed=3, step=2.0)
    grains = segment_grains(section, periodic=True, min_size=1)
    model = parse_inp(save_abaqus(tmp_path / "rve.inp", grains.labels, grains.orientations, "m-3m", 2.0,
                                  periodic=True))
    assert len(model["elements"]) == 20 and len(model["nodes"]) == 6 * 5 * 2  # one layer, 2 um thick
    nsets = model["nsets"]
    lengths = np.array([10.0, 8.0, 2.0])
    for axis, letter in enumerate("XYZ"):
        for kind in ("FACE", "EDGE"):
            for low_name in [n for n in nsets if n.startswith(kind) and f"{letter}0" in n]:
                low = np.array([model["nodes"][n] for n in nsets[low_name]])
                high = np.array([model["nodes"][n] for n in nsets[low_name.replace(f"{letter}0", f"{letter}1")]])
                shift = np.zeros(3)
                shift[axis] = lengths[axis]
                np.testing.assert_allclose(high - low, np.broadcast_to(shift, low.shape))
    assert "FACE_X0" not in nsets  # a layer one cell thick has no face interior across z
    corners = [n for n in nsets if n.startswith("CORNER")]
    assert len(corners) == 8 and all(len(nsets[n]) == 1 for n in corners)
    all_boundary = {n for name in nsets for n in nsets[name]}
    on_boundary = {n for n, (x, y, z) in model["nodes"].items()
                   if np.isclose(x, 0) or np.isclose(x, 10) or np.isclose(y, 0) or np.isclose(y, 8)
                   or np.isclose(z, 0) or np.isclose(z, 2)}
    assert all_boundary == on_boundary
