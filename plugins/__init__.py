"""MCRpy descriptor plugins (installed as ``mcrpy_poly.plugins``).

MCRpy imports ``mcrpy.descriptors.<Name>`` and calls its ``register()``; it has no entry
points. :func:`mcrpy_poly.enable` aliases each module here into ``sys.modules`` under that
name, so MCRpy finds them without any file being written into its package.

The four plugins describe orientation microstructures through their SHSH fields:
``SHSHCorrelations`` (two-point correlations), ``HybridVariogram``, ``MeanVariation`` and
``SHSHTexture``; values come in MCRpy's ``(n_phases, mg_levels, ...)`` layout. Each module is
one line: :func:`mcrpy_poly.mcrpy_bridge.plugin` builds its class and ``register()``.
"""
