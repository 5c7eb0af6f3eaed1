#!/usr/bin/env python
"""Thin wrapper: ``python train_ddpm.py --help`` (same as the ``train-ddpm`` console script)."""
import sys

from mcrpy_poly.cli.train_ddpm import main

if __name__ == "__main__":
    sys.exit(main())
