"""Both names of every command are installed: ``reconstruct-poly`` and ``reconstruct_poly.py`` (issue 12)."""
import configparser
import os
import site
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _setup_cfg():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    return cfg


def test_every_console_script_has_its_wrapper_installed():
    cfg = _setup_cfg()
    scripts = cfg["options"]["scripts"].split()
    lines = cfg["options.entry_points"]["console_scripts"].strip().splitlines()
    entry_points = dict(line.split(" = ") for line in lines)
    assert sorted(scripts) == sorted(name.replace("-", "_") + ".py" for name in entry_points)
    for script in scripts:
        target = entry_points[script[:-3].replace("_", "-")]
        module = target.split(":")[0]
        assert f"from {module} import main" in (ROOT / script).read_text(), script


@pytest.mark.slow
def test_editable_install_puts_both_names_on_path(tmp_path):
    """A fresh venv (the dependencies borrowed from this interpreter through a .pth file, the
    package itself installed with pip -e): both names run and answer a missing file with exit 2."""
    venv = tmp_path / "venv"
    subprocess.run([sys.base_prefix + "/bin/python3", "-m", "venv", str(venv)], check=True, timeout=300)
    purelib = next(venv.glob("lib/python3*/site-packages"))
    (purelib / "borrowed.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--no-deps", "--no-build-isolation", "-e", str(ROOT)],
                   check=True, timeout=600, capture_output=True)
    env = {**os.environ, "PATH": f"{venv / 'bin'}:{os.environ['PATH']}"}
    env.pop("PYTHONPATH", None)
    for name in ("reconstruct_poly.py", "reconstruct-poly", "evaluate_poly.py", "evaluate-poly"):
        assert (venv / "bin" / name).is_file(), name
        args = [str(tmp_path / "nope.ang"), "--out", str(tmp_path / "o")]
        if name.startswith("evaluate"):
            args = [str(tmp_path / "nope.ang"), str(tmp_path / "nope.ang"), "--out", str(tmp_path / "o")]
        done = subprocess.run([name, *args], capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
        assert done.returncode == 2 and "nope.ang: no such file" in done.stderr, (name, done.stderr)
