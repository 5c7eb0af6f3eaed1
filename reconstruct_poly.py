#!/usr/bin/env python
"""Thin wrapper: ``python reconstruct_poly.py --help`` (same as the ``reconstruct-poly`` console script)."""
import sys

from mcrpy_poly.cli.reconstruct import main

if __name__ == "__main__":
    sys.exit(main())
