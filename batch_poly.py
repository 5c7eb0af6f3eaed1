#!/usr/bin/env python
"""Thin wrapper: ``python batch_poly.py --help`` (same as the ``batch-poly`` console script)."""
import sys

from mcrpy_poly.cli.batch import main

if __name__ == "__main__":
    sys.exit(main())
