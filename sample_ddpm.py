#!/usr/bin/env python
"""Thin wrapper: ``python sample_ddpm.py --help`` (same as the ``sample-ddpm`` console script)."""
import sys

from mcrpy_poly.cli.sample_ddpm import main

if __name__ == "__main__":
    sys.exit(main())
