"""Exception types: every problem with a user's input is one of these, with a clear message.

Command-line tools catch :class:`InputError` and exit with code 2 and its one-line message;
anything else is an internal error (exit code 1).
"""
from __future__ import annotations


class InputError(ValueError):
    """Base class for problems with what the user gave (a file, a shape, an option)."""


class EBSDReadError(InputError):
    """An EBSD file could not be read. The message names the file and the problem."""

    def __init__(self, path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class EBSDFileNotFoundError(EBSDReadError, FileNotFoundError):
    """The file does not exist."""


class UnsupportedFormatError(EBSDReadError):
    """The file extension is not one of the supported EBSD formats."""


class MalformedFileError(EBSDReadError):
    """The header cannot be parsed or the data are truncated or inconsistent."""


class NoIndexedPixelsError(EBSDReadError):
    """The map (or the selected phase) has no indexed pixel."""


class PhaseSelectionError(EBSDReadError):
    """A multi-phase map needs ``phase=``, or the phase asked for is not in the file."""


class SymmetryError(InputError):
    """The crystal symmetry is unknown or not supported."""


class ShapeError(InputError):
    """A map or volume shape does not fit the task (too small for a descriptor window, ...)."""


class MemoryBudgetError(InputError):
    """The task would need more memory than is available."""


class UnsupportedSymmetryError(EBSDReadError, SymmetryError):
    """The file declares a crystal symmetry that is not a known point group."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type name when empty), for one-line reports."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
