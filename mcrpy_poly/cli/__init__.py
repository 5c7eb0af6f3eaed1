"""Command-line tools of mcrpy-poly (each module has a ``main(argv=None) -> int``)."""
