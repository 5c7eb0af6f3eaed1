"""What every command shares: exit codes and the one-line message for bad input."""
from __future__ import annotations

import os
import sys
import traceback

from ..errors import InputError

# Commands print their own progress; TensorFlow's C++ start-up chatter (oneDNN, CUDA probing) is noise there.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

#: Exit codes of every command.
EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT = 0, 1, 2


def run_command(prog: str, action, args):
    """Call ``action(args)``: ``(0, result)`` on success; ``(2, None)`` after a one-line
    ``prog: error: ...`` message for bad input (:class:`~mcrpy_poly.errors.InputError`);
    ``(1, None)`` after a traceback for anything else (an internal error)."""
    try:
        return EXIT_OK, action(args)
    except InputError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT, None
    except Exception:
        traceback.print_exc()
        return EXIT_INTERNAL, None
