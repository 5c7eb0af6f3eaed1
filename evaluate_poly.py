#!/usr/bin/env python
"""Thin wrapper: ``python evaluate_poly.py --help`` (same as the ``evaluate-poly`` console script)."""
import sys

from mcrpy_poly.cli.evaluate import main

if __name__ == "__main__":
    sys.exit(main())
