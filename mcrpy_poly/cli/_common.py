"""What every command shares: exit codes, the one-line message for bad input, the checks of
output paths, and a quiet TensorFlow start.

Commands check everything the user gave (options, input files, output paths, memory) before
they import TensorFlow: a bad input costs no more than reading it, and the one line naming
the problem is all that appears on stderr.
"""
from __future__ import annotations

import os
import sys
import tempfile
import traceback
import warnings
from pathlib import Path

from ..errors import InputError

# Before the first TensorFlow import anywhere in a command: C++ logging from warnings up only.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

#: Exit codes of every command.
EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT = 0, 1, 2


def run_command(prog: str, action, args):
    """Call ``action(args)``: ``(0, result)`` on success; ``(2, None)`` after a one-line
    ``prog: error: ...`` message for bad input (:class:`~mcrpy_poly.errors.InputError`);
    ``(1, None)`` after a traceback for anything else (an internal error). Warnings appear
    as one ``prog: warning: ...`` line each."""
    def one_line(message, category, filename, lineno, file=None, line=None):
        print(f"{prog}: warning: {message}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = one_line
        try:
            return EXIT_OK, action(args)
        except InputError as exc:
            print(f"{prog}: error: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT, None
        except Exception:
            traceback.print_exc()
            return EXIT_INTERNAL, None


def check_output_folder(folder, option: str = "--out") -> None:
    """Raise :class:`InputError` unless files can be created in ``folder`` and beside it
    (the staging folder of an atomic publish), creating nothing that stays.

    A folder that does not exist yet is checked at its nearest existing ancestor."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{option} {folder}: exists and is not a folder")
    for place in dict.fromkeys([folder, folder.parent]):
        existing = place
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if not existing.is_dir():
            raise InputError(f"{option} {folder}: {existing} is a file, not a folder")
        try:
            with tempfile.TemporaryFile(dir=existing):
                pass
        except OSError as exc:
            raise InputError(f"{option} {folder}: cannot write in {existing} ({exc.strerror or exc})") from None


def check_output_file(path, what: str) -> None:
    """Raise :class:`InputError` if ``path`` (a file the run will write) is a folder."""
    if Path(path).is_dir():
        raise InputError(f"{what} {path}: is a folder, the run writes a file there")


def start_keras_backend() -> None:
    """Before the first Keras import: start TensorFlow quietly when it is Keras' backend
    (``KERAS_BACKEND``, default ``tensorflow``); other backends start as they do."""
    if os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow":
        import_tensorflow()


def import_tensorflow():
    """Import TensorFlow with its start-up output silenced; returns the module.

    TensorFlow's C++ libraries print absl, oneDNN and CUDA-probing lines to file descriptor 2
    while they load and when the devices are first listed (``failed call to cuInit`` on a
    machine without a driver), before any logging setting applies; stderr is pointed at
    ``/dev/null`` for exactly that time. Python errors still surface (raised after)."""
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        import tensorflow as tf

        tf.config.list_physical_devices()
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.ERROR)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)
    return tf
