"""Packages: ``mcrpy_poly`` and its subpackages, plus ``plugins/`` installed as ``mcrpy_poly.plugins``
(the mapping is in setup.cfg's ``package_dir``; everything else is in setup.cfg)."""
from setuptools import find_packages, setup

setup(packages=find_packages(include=["mcrpy_poly", "mcrpy_poly.*"]) + ["mcrpy_poly.plugins"])
