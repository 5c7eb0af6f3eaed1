"""EBSD reading and writing: real data against orix, malformed files of our own making."""
import warnings

import numpy as np
import pytest

from mcrpy_poly import load_ebsd, save_ang
from mcrpy_poly.errors import (
    EBSDFileNotFoundError,
    MalformedFileError,
    NoIndexedPixelsError,
    PhaseSelectionError,
    UnsupportedFormatError,
    UnsupportedSymmetryError,
)
from mcrpy_poly.io import load_quaternion_array
from mcrpy_poly.orientation.quaternion import misorientation_angle
from mcrpy_poly.synthetic import voronoi


@pytest.fixture(scope="module")
def orix_map(sdss_path):
    from orix.io import load
    return load(str(sdss_path))


def _load(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_ebsd(*args, **kwargs)


@pytest.mark.parametrize("phase, orix_name", [("austenite", "austenite/austenite"),
                                              ("ferrite/ferrite", "ferrite/ferrite"),
                                              (1, "austenite/austenite"), (2, "ferrite/ferrite")])
def test_sdss_phases_match_orix(sdss_path, orix_map, phase, orix_name):
    omap = _load(sdss_path, phase=phase)
    assert omap.shape == (100, 117)
    assert omap.n_indexed == orix_map[orix_name].size
    assert omap.phase_name == orix_name
    assert omap.symmetry.name == "432"
    assert omap.step == (1.5, 1.5)
    expected = orix_map[orix_name].rotations.data
    got = omap.quaternions[omap.indexed]
    np.testing.assert_allclose(np.abs(np.sum(got * expected, axis=-1)), 1.0, atol=1e-12)


def test_multiphase_without_phase_lists_phases(sdss_path):
    with pytest.raises(PhaseSelectionError, match="austenite/austenite.*ferrite/ferrite") as err:
        load_ebsd(sdss_path)
    assert str(sdss_path) in str(err.value)
    with pytest.raises(PhaseSelectionError, match="no phase 'martensite'"):
        load_ebsd(sdss_path, phase="martensite")


def test_unindexed_pixels_are_reported_and_can_be_filled(sdss_path):
    with pytest.warns(UserWarning, match=r"6043 of 11700 pixels \(51.6%\)"):
        omap = load_ebsd(sdss_path, phase="austenite")
    filled = _load(sdss_path, phase="austenite", fill_unindexed=True)
    assert filled.n_indexed == filled.indexed.size
    np.testing.assert_allclose(filled.quaternions[omap.indexed], omap.quaternions[omap.indexed], atol=1e-15)
    # Each filled pixel equals an indexed pixel at minimal Euclidean distance (brute force reference).
    rows, cols = np.nonzero(omap.indexed)
    for r, c in [(0, 0), (50, 60), (99, 116)]:
        if omap.indexed[r, c]:
            continue
        d2 = (rows - r) ** 2 + (cols - c) ** 2
        candidates = omap.quaternions[rows[d2 == d2.min()], cols[d2 == d2.min()]]
        assert np.any(np.all(np.isclose(candidates, filled.quaternions[r, c], atol=1e-14), axis=-1))


def test_save_ang_round_trip_through_orix(tmp_path):
    from orix.io import load
    omap = voronoi((20, 30), 12, "m-3m", seed=3, step=0.5)
    indexed = np.ones(omap.shape, bool)
    indexed[3, 4] = False
    omap = omap.replace(indexed=indexed)
    path = save_ang(tmp_path / "map.ang", omap)
    xmap = load(str(path))
    back = xmap.rotations.data.reshape(20, 30, 4)
    angle = np.degrees(misorientation_angle(back, omap.quaternions))
    assert angle[indexed].max() < 1e-3
    assert xmap.dx == pytest.approx(0.5)
    again = _load(path)
    assert again.indexed.sum() == indexed.sum() and not again.indexed[3, 4]
    assert [p.name for p in tmp_path.iterdir()] == ["map.ang"]  # no temporary file left behind


def test_save_ang_hexagonal(tmp_path):
    omap = voronoi((10, 12), 5, "6/mmm", seed=1)
    back = _load(save_ang(tmp_path / "hex.ang", omap))
    assert back.symmetry.name == "622"
    assert np.degrees(misorientation_angle(back.quaternions, omap.quaternions, back.symmetry.quaternions)).max() < 1e-3


def test_missing_and_unknown_files(tmp_path):
    with pytest.raises(EBSDFileNotFoundError, match="nope.ang: no such file"):
        load_ebsd(tmp_path / "nope.ang")
    other = tmp_path / "map.txt"
    other.write_text("1 2 3\n")
    with pytest.raises(UnsupportedFormatError, match=r"map.txt: unknown extension '.txt'"):
        load_ebsd(other)


@pytest.fixture
def good_ang(tmp_path):
    return save_ang(tmp_path / "good.ang", voronoi((6, 8), 4, "m-3m", seed=0))


def _edit(path, func, name):
    out = path.with_name(name)
    out.write_text(func(path.read_text()))
    return out


def test_truncated_data(good_ang):
    bad = _edit(good_ang, lambda t: "\n".join(t.splitlines()[:-10]) + "\n", "truncated.ang")
    with pytest.raises(MalformedFileError, match="truncated.ang: truncated or inconsistent data.*48 pixels"):
        load_ebsd(bad)


def test_malformed_header(good_ang):
    line = next(ln for ln in good_ang.read_text().splitlines() if "LatticeConstants" in ln)
    bad = _edit(good_ang, lambda t: t.replace(line, "# LatticeConstants 1.0 one"), "header.ang")
    with pytest.raises(MalformedFileError, match="header.ang: malformed phase description in the header"):
        load_ebsd(bad)


def test_garbage_and_header_only(good_ang, tmp_path):
    garbage = tmp_path / "garbage.ang"
    garbage.write_text("this is not\nan ang file\n")
    with pytest.raises(MalformedFileError, match="garbage.ang"):
        load_ebsd(garbage)
    header_only = _edit(good_ang, lambda t: "".join(ln + "\n" for ln in t.splitlines() if ln.startswith("#")),
                        "header_only.ang")
    with pytest.raises(MalformedFileError, match="header_only.ang"):
        load_ebsd(header_only)


def test_unknown_symmetry(good_ang):
    text = good_ang.read_text()
    line = next(ln for ln in text.splitlines() if "Symmetry" in ln)
    bad = _edit(good_ang, lambda t: t.replace(line, "# Symmetry              99"), "sym.ang")
    with pytest.raises(UnsupportedSymmetryError, match="sym.ang: unsupported crystal symmetry"):
        load_ebsd(bad)


def test_no_indexed_pixels(tmp_path):
    omap = voronoi((6, 8), 4, "m-3m", seed=0)
    path = save_ang(tmp_path / "empty.ang", omap.replace(indexed=np.zeros(omap.shape, bool)))
    with pytest.raises(NoIndexedPixelsError, match="empty.ang: no indexed pixels"):
        load_ebsd(path)


def test_ctf_round_trip_via_orix(tmp_path):
    """orix writes no .ctf; a tiny hand-made Oxford file checks the reader and the grid check."""
    from orix.quaternion import Rotation
    euler_deg = np.array([[10.0, 20.0, 30.0], [40.0, 50.0, 60.0], [70.0, 80.0, 90.0], [15.0, 25.0, 35.0]])
    lines = ["Channel Text File", "Prj\ttest", "Author\t", "JobMode\tGrid", "XCells\t2", "YCells\t2", "XStep\t1",
             "YStep\t1", "AcqE1\t0", "AcqE2\t0", "AcqE3\t0", "Euler angles refer to Sample Coordinate system (CS0)!",
             "Phases\t1", "3.6;3.6;3.6\t90;90;90\tIron fcc\t11\t225",
             "Phase\tX\tY\tBands\tError\tEuler1\tEuler2\tEuler3\tMAD\tBC\tBS"]
    for i, (e1, e2, e3) in enumerate(euler_deg):
        lines.append(f"1\t{i % 2}\t{i // 2}\t8\t0\t{e1}\t{e2}\t{e3}\t0.5\t100\t100")
    path = tmp_path / "tiny.ctf"
    path.write_text("\n".join(lines) + "\n")
    omap = _load(path)
    assert omap.shape == (2, 2) and omap.symmetry.name == "432"
    expected = Rotation.from_euler(np.radians(euler_deg)).data
    np.testing.assert_allclose(np.abs(np.sum(omap.quaternions.reshape(-1, 4) * expected, -1)), 1.0, atol=1e-6)
    truncated = tmp_path / "short.ctf"
    truncated.write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(MalformedFileError, match="short.ctf"):
        load_ebsd(truncated)


def test_quaternion_array_conventions(mcrpy_npy_path, tmp_path):
    from mcrpy_poly import SHSHBasis
    orix_conv = load_quaternion_array(mcrpy_npy_path, "m-3m", convention="mcrpy")
    raw = np.load(mcrpy_npy_path)
    np.testing.assert_allclose(orix_conv.quaternions[..., 1:] * np.sign(orix_conv.quaternions[..., :1]),
                               -raw[..., 1:] / np.linalg.norm(raw, axis=-1, keepdims=True) * np.sign(raw[..., :1]),
                               atol=1e-12)
    # README of the data: raw MCRpy quaternions are invariant under cubic operators on the RIGHT; in orix
    # convention, on the LEFT, which is what SHSHBasis assumes.
    basis = SHSHBasis("432", n_terms=9)
    from mcrpy_poly.orientation.quaternion import multiply
    s = basis.symmetry.quaternions[7]
    np.testing.assert_allclose(basis(multiply(s, orix_conv.quaternions)), basis(orix_conv.quaternions), atol=1e-10)
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((4, 4, 3)))
    with pytest.raises(MalformedFileError, match=r"bad.npy: expected quaternions of shape"):
        load_quaternion_array(bad, "m-3m")


def test_orix_hdf5_round_trip(tmp_path):
    """HDF5 maps in orix's own format are read through orix like .ang and .ctf."""
    import contextlib
    import io

    from orix import io as orix_io
    source = voronoi((7, 9), 5, "6/mmm", seed=5)
    ang = save_ang(tmp_path / "src.ang", source)
    with contextlib.redirect_stdout(io.StringIO()):
        orix_io.save(str(tmp_path / "map.h5"), orix_io.load(str(ang)), overwrite=True)
    omap = _load(tmp_path / "map.h5")
    assert omap.shape == (7, 9) and omap.symmetry.name == "622"
    angle = misorientation_angle(omap.quaternions, source.quaternions, omap.symmetry.quaternions)
    assert np.degrees(angle).max() < 1e-3


def test_load_map_dispatches_on_suffix(tmp_path, good_ang):
    from mcrpy_poly.errors import InputError
    from mcrpy_poly.io import load_map
    omap = voronoi((5, 6), 3, "6/mmm", seed=2)
    np.save(tmp_path / "q.npy", omap.quaternions)
    from_npy = load_map(tmp_path / "q.npy", symmetry="6/mmm")
    from_npz = load_map(omap.save(tmp_path / "m.npz"))
    assert from_npy.symmetry.name == from_npz.symmetry.name == "622"
    np.testing.assert_allclose(from_npz.quaternions, omap.quaternions)
    assert load_map(good_ang).shape == (6, 8)
    with pytest.raises(InputError, match="q.npy: a .npy quaternion array needs a symmetry"):
        load_map(tmp_path / "q.npy")
    with pytest.raises(EBSDFileNotFoundError, match="gone.npz: no such file"):
        load_map(tmp_path / "gone.npz")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(MalformedFileError, match="bad.npz: not an OrientationMap"):
        load_map(tmp_path / "bad.npz")
