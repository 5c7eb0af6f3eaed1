"""compare(), the report and the evaluate-poly command line."""
import json
import re
import warnings

import numpy as np
import pytest
from PIL import Image

from mcrpy_poly import load_ebsd
from mcrpy_poly.cli import evaluate as cli
from mcrpy_poly.errors import InputError
from mcrpy_poly.evaluate import compare
from mcrpy_poly.synthetic import voronoi

ERROR_SUFFIXES = ("_rel_error", "_w1", "_w1_norm", "_kl")


@pytest.fixture(scope="module")
def sdss_report(sdss_path, tmp_path_factory):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        austenite = load_ebsd(sdss_path, phase="austenite")
    comparison = compare(austenite, austenite, periodic=False, loss=np.geomspace(1.0, 1e-3, 50))
    directory = tmp_path_factory.mktemp("sdss_report")
    return comparison, comparison.save_report(directory), directory


def test_sdss_against_itself_has_zero_errors(sdss_report):
    comparison, _, _ = sdss_report
    metrics = comparison.metrics
    errors = {k: v for k, v in metrics.items() if k.endswith(ERROR_SUFFIXES)}
    assert len(errors) > 25
    assert all(v == 0.0 for v in errors.values()), {k: v for k, v in errors.items() if v != 0.0}
    assert metrics["correlations_share_below_5pct"] == metrics["variogram_share_below_5pct"] == 1.0
    assert metrics["grain_density"] == metrics["grain_density_ref"] > 0
    # Twin boundaries of the austenite (60 degrees about <111>) dominate its misorientations.
    assert 40.0 < metrics["misorientation_mean_ref"] < 62.8


def test_report_files(sdss_report):
    comparison, page, directory = sdss_report
    pngs = sorted(directory.glob("*.png"))
    names = {p.name for p in pngs}
    assert {"ipf_reference.png", "ipf_candidate.png", "ipf_key.png", "pole_figures.png", "correlations_map.png",
            "variogram_map.png", "grains_map.png", "loss.png"} <= names
    with Image.open(directory / "ipf_reference.png") as image:  # 100 x 117 pixels, magnified 3 times
        assert image.size == (3 * 117, 3 * 100)
    text = page.read_text()
    assert len(re.findall(r'<img src="data:image/png;base64,', text)) == len(pngs)
    saved = json.loads((directory / "metrics.json").read_text())
    assert saved["metrics"]["odf_rel_error"] == 0.0
    assert set(saved["metrics"]) == set(comparison.metrics)
    assert saved["reference"]["shape"] == [100, 117]
    assert not list(directory.glob(".*"))  # no temporary files left


def test_2d_reference_against_3d_ensemble():
    reference = voronoi((48, 48), 20, seed=0)
    ensemble = [voronoi((24, 28, 32), 12, seed=s) for s in (1, 2)]
    comparison = compare(reference, ensemble, periodic=True, limit_to=8)
    metrics = comparison.metrics
    assert metrics["n_candidates"] == 2
    for plane in ("xz", "yz", "xy"):
        assert np.isfinite(metrics[f"{plane}_variogram_rel_error"])
        assert f"{plane}_variogram_rel_error_std" in metrics
        assert metrics[f"{plane}_grain_size_w1"] > 0
    assert comparison.limit_to == 8


def test_3d_report_pictures(tmp_path):
    reference = voronoi((16, 18, 20), 8, seed=1)
    candidate = voronoi((20, 24, 28), 10, seed=2)
    compare(reference, candidate, periodic=True, limit_to=6).save_report(tmp_path)
    # (rows, columns) are the in-plane axes (y, x, z) = (20, 24, 28) in order, magnified by whole
    # pixels to at least 256 across.
    shapes = {"section_xz": (24, 28), "section_yz": (20, 28), "section_xy": (20, 24), "face_xy": (20, 24)}
    for name, (rows, cols) in shapes.items():
        scale = -(-256 // max(rows, cols))
        with Image.open(tmp_path / f"ipf_candidate_{name}.png") as image:
            assert image.size == (cols * scale, rows * scale)
    for name in ("ipf_candidate_cube.png", "ipf_reference_cube.png", "correlations_xz.png", "variogram_xy.png",
                 "grains_volume.png", "pole_figures.png"):
        assert (tmp_path / name).stat().st_size > 1000


def test_3d_against_3d_uses_3d_grains():
    volume = voronoi((20, 20, 20), 10, seed=3)
    metrics = compare(volume, volume, periodic=True, limit_to=6).metrics
    assert metrics["grain_size_w1"] == 0.0 and "chord_length_z_w1" in metrics
    assert metrics["xy_correlations_rel_error"] == 0.0


def test_compare_rejects_bad_input():
    omap = voronoi((16, 16), 4)
    with pytest.raises(InputError, match="symmetry"):
        compare(omap, voronoi((16, 16), 4, symmetry="6/mmm"))
    with pytest.raises(InputError, match="unknown compare option"):
        compare(omap, omap, treshold=5)
    with pytest.raises(InputError, match="odf_degree"):
        compare(omap, omap, odf_degree=0)
    with pytest.raises(InputError, match="2D maps or all 3D"):
        compare(omap, [omap, voronoi((8, 8, 8), 3)])


def test_cli_exit_codes(tmp_path, capsys, mcrpy_npy_path, monkeypatch):
    reference = voronoi((32, 32), 8, seed=0)
    reference.save(tmp_path / "ref.npz")
    np.save(tmp_path / "cand.npy", voronoi((32, 32), 8, seed=1).quaternions)
    out = tmp_path / "report"
    assert cli.main([str(tmp_path / "ref.npz"), str(tmp_path / "cand.npy"), "--out", str(out),
                     "--symmetry", "m-3m", "--periodic", "both"]) == 0
    assert (out / "report.html").is_file() and (out / "metrics.json").is_file()
    capsys.readouterr()
    # Bad input: exit 2 with a one-line message.
    for argv in ([str(tmp_path / "ref.npz"), str(tmp_path / "cand.npy"), "--out", str(out)],  # no --symmetry
                 [str(tmp_path / "missing.npz"), str(tmp_path / "ref.npz"), "--out", str(out)],
                 [str(mcrpy_npy_path), str(tmp_path / "ref.npz"), "--out", str(out), "--symmetry", "6/mmm"]):
        assert cli.main(argv) == 2
        message = capsys.readouterr().err.strip()
        assert message.startswith("evaluate-poly: error:") and "\n" not in message
    # Anything else: exit 1.
    monkeypatch.setattr(cli, "run", lambda args: 1 / 0)
    assert cli.main([str(tmp_path / "ref.npz"), str(tmp_path / "ref.npz"), "--out", str(out)]) == 1
