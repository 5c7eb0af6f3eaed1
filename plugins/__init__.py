"""MCRpy descriptor plugins (installed as ``mcrpy_poly.plugins``).

MCRpy imports ``mcrpy.descriptors.<Name>`` and calls its ``register()``; it has no entry
points. :func:`mcrpy_poly.enable` aliases each module here into ``sys.modules`` under that
name, so MCRpy finds them without any file being written into its package.
"""
