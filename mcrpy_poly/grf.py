"""Multi-output Gaussian random fields with a reference's one- and two-point statistics.

The global half of paper 000's Local-Global Decomposition (notes_000_lgd_rogsh.md s. 3;
Robertson & Kalidindi 2022): a stationary Gaussian field of K channels (SHSH, here) whose
channel means and auto/cross-covariances are those of a reference, so that the two-point
correlations ``f_r^{ab} = mean_x f_a(x) f_b(x + r)`` match in expectation.

Recipe, per output grid of S pixels (2D or 3D):

1. ``C^{ab}_r``: covariance of the mean-removed channels at every lag ``r`` of the output
   grid (:func:`cross_covariance`);
2. ``P_k``: its Fourier transform, a K x K Hermitian matrix per frequency, made positive
   semi-definite by clipping negative eigenvalues to 0 (an estimated or tapered covariance
   need not be PSD); ``H_k = P_k^(1/2)`` from the same eigen-decomposition;
3. a sample is ``mean + IFFT(H_k FFT(w))`` for white noise ``w``, so
   ``E[x_a(s) x_b(s + r)] = C^{ab}_r + mean_a mean_b`` exactly (periodic lags).

Reference and output grids
--------------------------
The two-point statistics are the periodic ones of the project's descriptors
(:mod:`mcrpy_poly.descriptors.correlations`): ``C_r = (1/S) sum_s u_a(s) u_b(s + r)`` over
the reference with wrap-around. On the reference's own grid they are used as they are, and
the field reproduces them exactly in expectation. On another grid (any size, 2D or 3D) the
cross-spectral density ``P`` is interpolated multilinearly, periodically, from the
reference's frequencies ``k / n_ref`` to the output's ``k / n_out`` (:func:`_resampled_spectrum`):
a combination of positive semi-definite matrices with positive weights is one, so nothing
needs clipping. On a larger output this multiplies the covariance in lag space by the
transform of the interpolation kernel, ``sinc^2(pi r / n_ref)`` per axis (0.81 at a quarter
of the reference's side), summed over the reference's periodic images, with the variances
kept exactly; on a smaller one the covariance is aliased onto the smaller period.
Correlations that have decayed within the reference (grains much smaller than the map)
carry over; longer ones are cut at about the reference's size. A 3D output needs a 3D
reference.

Surrogates made of the reference's orientations
-----------------------------------------------
A Gaussian field carries the SHSH statistics but its values are not orientations: mapped to
the nearest orientations it is speckle and loses its two-point statistics (issue 13:
two-point error 0.46 on the MCRpy example map). :class:`AmplitudeAdjustedField` (IAAFT)
instead rearranges the reference's own pixels towards its spectrum, so the statistics hold
for the orientations, and :func:`consolidate_grains` turns its patches of similar
orientations into grains.

NumPy and SciPy only (no TensorFlow): FFTs over the spatial axes, ``eigh`` per frequency,
k-d trees.
"""
from __future__ import annotations

import numpy as np

from .errors import InputError, ShapeError


def _spatial_axes(ndim: int) -> tuple:
    return tuple(range(ndim))


def _periodic_covariance(u: np.ndarray) -> np.ndarray:
    """``(K, K, *shape)`` periodic covariance of mean-removed fields ``u (*shape, K)``."""
    axes = _spatial_axes(u.ndim - 1)
    spectra = np.moveaxis(np.fft.fftn(u, axes=axes), -1, 0)  # (K, *shape)
    cross = np.conj(spectra[:, None]) * spectra[None, :]
    return np.real(np.fft.ifftn(cross, axes=tuple(a + 2 for a in axes))) / u[..., 0].size


def _resampled_spectrum(spectrum: np.ndarray, shape: tuple) -> np.ndarray:
    """Periodic multilinear interpolation of a spectrum ``(K, K, *ref)`` (full FFT layout) at
    the frequencies of ``shape``. Along an axis that grows, each reference bin is weighted so
    that its total weight is ``n_out / n_ref``: the mean over frequencies, i.e. the zero-lag
    covariance, is kept exactly. Along an axis that shrinks the values are taken as they are
    (for an integer ratio that is the reference's covariance summed over the output's period:
    the aliasing of a periodic field on a smaller torus)."""
    for axis, n_out in enumerate(shape):
        n_ref = spectrum.shape[axis + 2]
        if n_ref == n_out:
            continue
        position = np.fft.fftfreq(n_out) * n_ref  # signed, in reference frequency bins
        low = np.floor(position).astype(int)
        weight = position - low
        pairs = ((low % n_ref, 1 - weight), ((low + 1) % n_ref, weight))
        reached = sum(np.bincount(b, w, minlength=n_ref) for b, w in pairs)
        scale = n_out / n_ref / np.maximum(reached, 1e-300) if n_out > n_ref else np.ones(n_ref)
        spectrum = sum(np.take(spectrum, b, axis=axis + 2) * (w * scale[b]).reshape(
            (-1,) + (1,) * (spectrum.ndim - axis - 3)) for b, w in pairs)
    return spectrum


def cross_covariance(fields, shape=None) -> tuple[np.ndarray, np.ndarray]:
    """Channel means and the auto/cross-covariance of one or more reference fields, on the
    lags of an output grid.

    Parameters
    ----------
    fields : array_like or sequence of array_like, each (*ref_shape, K)
        Reference fields (SHSH); several are averaged (means and covariances pooled by pixels).
    shape : tuple of int, optional
        The output grid (default: the first reference's shape). See the module notes for
        other grids.

    Returns
    -------
    mean : numpy.ndarray, shape (K,)
    covariance : numpy.ndarray, shape (K, K, *shape)
        ``C[a, b, r] = E[u_a(s) u_b(s + r)]``, lag ``r`` at index ``r mod shape``.
    """
    fields = [np.asarray(f, dtype=np.float64) for f in (fields if isinstance(fields, (list, tuple)) else [fields])]
    if not fields:
        raise InputError("no reference fields given")
    ndim, channels = fields[0].ndim - 1, fields[0].shape[-1]
    if ndim not in (2, 3) or any(f.ndim != ndim + 1 or f.shape[-1] != channels for f in fields):
        raise ShapeError(f"reference fields must all be (H, W, K) or (H, W, D, K), got "
                         f"{[f.shape for f in fields]}")
    shape = tuple(fields[0].shape[:-1]) if shape is None else tuple(int(n) for n in shape)
    if len(shape) != ndim or min(shape) < 1:
        raise ShapeError(f"output shape {shape} does not fit {ndim}D references")
    sizes = np.array([f[..., 0].size for f in fields], dtype=float)
    mean = np.einsum("i,ik->k", sizes, np.array([f.reshape(-1, channels).mean(axis=0) for f in fields])) / sizes.sum()
    covariance = np.zeros((channels, channels) + shape)
    for f, size in zip(fields, sizes):
        covariance += size / sizes.sum() * _on_grid(_periodic_covariance(f - mean), shape)
    return mean, covariance


def _on_grid(covariance: np.ndarray, shape: tuple) -> np.ndarray:
    """A covariance ``(K, K, *ref)`` moved onto the lags of ``shape`` (module notes)."""
    if covariance.shape[2:] == shape:
        return covariance
    axes = tuple(range(2, covariance.ndim))
    spectrum = _resampled_spectrum(np.fft.fftn(covariance, axes=axes), shape)
    return np.real(np.fft.ifftn(spectrum, axes=axes))


class GaussianRandomField:
    """Stationary multi-output Gaussian field on a periodic grid with given channel means and
    covariance.

    Parameters
    ----------
    mean : array_like, shape (K,)
    covariance : array_like, shape (K, K, *shape)
        ``C[a, b, r] = E[u_a(s) u_b(s + r)]`` (as :func:`cross_covariance` returns it).

    Attributes
    ----------
    mean : numpy.ndarray, shape (K,)
    shape : tuple of int
        The spatial grid of the samples.
    clipped : float
        Share of the spectral weight removed by clipping negative eigenvalues (round-off for
        covariances from :func:`cross_covariance`; more for estimated or averaged ones).
    """

    def __init__(self, mean, covariance):
        self.mean = np.asarray(mean, dtype=np.float64)
        covariance = np.asarray(covariance, dtype=np.float64)
        channels = len(self.mean)
        if covariance.shape[:2] != (channels, channels) or covariance.ndim not in (4, 5):
            raise ShapeError(f"covariance must be ({channels}, {channels}, *shape), got {covariance.shape}")
        self.shape = covariance.shape[2:]
        axes = tuple(range(2, covariance.ndim))
        # E[X_k X_k^H] / S must be the transform of C[b, a] (lag convention of the module notes).
        spectral = np.fft.rfftn(np.swapaxes(covariance, 0, 1), axes=axes)
        spectral = np.moveaxis(spectral, (0, 1), (-2, -1))  # (*half, K, K)
        spectral = 0.5 * (spectral + np.conj(np.swapaxes(spectral, -1, -2)))
        values, vectors = np.linalg.eigh(spectral)
        self.clipped = float(-values[values < 0].sum() / max(np.abs(values).sum(), 1e-300))
        self._vectors, self._amplitudes = vectors, np.sqrt(np.clip(values, 0.0, None))

    @classmethod
    def from_fields(cls, fields, shape=None) -> GaussianRandomField:
        """The field of the references' statistics on an output grid (see :func:`cross_covariance`)."""
        return cls(*cross_covariance(fields, shape))

    def sample(self, n: int = 1, rng=None, spectrum: str = "gaussian") -> np.ndarray:
        """``n`` independent samples, shape ``(n, *shape, K)``, float64.

        Parameters
        ----------
        n : int
        rng : numpy.random.Generator or int, optional
        spectrum : {"gaussian", "fixed"}
            ``"gaussian"``: white Gaussian noise coloured by ``P_k^(1/2)``, a Gaussian field
            whose two-point statistics match in expectation. ``"fixed"``: the noise keeps only
            its phase in the eigenbasis of each ``P_k`` (unit modulus), so every sample has the
            spectral weight of each eigen-component exactly; from one periodic reference on
            its own grid (``P_k`` of rank 1) each sample then carries the reference's periodic
            two-point correlations exactly (a phase-randomised surrogate). One-point values
            are then Gaussian only approximately (a sum of many random-phase waves).
        """
        if spectrum not in ("gaussian", "fixed"):
            raise InputError(f"spectrum must be 'gaussian' or 'fixed', got {spectrum!r}")
        rng = np.random.default_rng(rng)
        noise = rng.standard_normal((int(n),) + self.shape + (len(self.mean),))
        return self._coloured(noise, fixed=spectrum == "fixed")

    def impose_spectrum(self, fields) -> np.ndarray:
        """The fields with the spectral weight of each eigen-component of ``P_k`` set exactly and
        their phases kept (step (a) of :class:`AmplitudeAdjustedField`): the nearest field, in the
        L2 sense, whose periodogram is that of a ``"fixed"`` sample.

        Parameters
        ----------
        fields : array_like, shape (n, *shape, K)

        Returns
        -------
        numpy.ndarray, shape (n, *shape, K), float64
        """
        return self._coloured(np.asarray(fields, dtype=np.float64) - self.mean, fixed=True)

    def _coloured(self, u: np.ndarray, fixed: bool) -> np.ndarray:
        """``mean + IFFT(V A g(V^H FFT(u)))`` of zero-mean ``u (n, *shape, K)``: ``g`` is the identity
        (white noise coloured by ``P_k^(1/2)``) or, ``fixed``, keeps only the phases (unit modulus
        times ``sqrt(S)``, the modulus white noise has on average)."""
        axes = tuple(range(1, len(self.shape) + 1))
        # In the eigenbasis of each P_k (white noise stays white: the basis is unitary).
        spectra = (np.conj(np.swapaxes(self._vectors, -1, -2)) @ np.fft.rfftn(u, axes=axes)[..., None])[..., 0]
        if fixed:
            spectra = spectra / np.maximum(np.abs(spectra), 1e-300) * np.sqrt(np.prod(self.shape))
        coloured = (self._vectors @ (self._amplitudes * spectra)[..., None])[..., 0]
        return np.fft.irfftn(coloured, s=self.shape, axes=axes) + self.mean


def quotas(counts, n: int, rng=None) -> np.ndarray:
    """How often each of ``m`` reference values is used among ``n`` output pixels: proportional
    to ``counts (m,)``, rounded by largest remainders, ties broken at random (with many equal
    remainders, e.g. every count 1 and ``n / m`` not an integer, any fixed order would favour
    some values: the texture would be biased), summing to ``n``. Equal to ``counts`` when
    ``n == counts.sum()``; in expectation over ``rng`` proportional to them.

    Parameters
    ----------
    counts : array_like of int, shape (m,)
    n : int
    rng : numpy.random.Generator or int, optional

    Returns
    -------
    numpy.ndarray, shape (m,), int64
    """
    counts = np.asarray(counts, dtype=np.int64)
    share = counts * n / counts.sum()
    out = np.floor(share).astype(np.int64)
    remainder = share - out
    order = np.lexsort((np.random.default_rng(rng).random(len(counts)), -remainder))
    out[order[: n - out.sum()]] += 1
    return out


def assign_with_quotas(values, support, quota, candidates: int = 8, eps: float = 1.0) -> np.ndarray:
    """Each row of ``values`` replaced by a row of ``support``, row ``j`` used exactly ``quota[j]``
    times, near rows preferred (step (b) of :class:`AmplitudeAdjustedField`).

    A greedy transport plan, in rounds: every unassigned pixel proposes its ``candidates``
    nearest support rows that have room left (k-d tree), one rank after another; a row takes
    the closest of its proposals up to its room. Every round assigns at least one pixel.
    The neighbours are approximate (``eps``): spectrum-imposed SHSH values lie off the
    reference's orientations, where exact 9-D k-d tree queries are slow (MCRpy example map,
    128^2: ``eps = 1`` queries 5x faster, the first neighbour's distance 0.5 % longer on
    average); a zero distance is always found.

    Parameters
    ----------
    values : array_like, shape (n, K)
    support : array_like, shape (m, K)
    quota : array_like of int, shape (m,)
        Summing to ``n``.
    candidates : int
    eps : float
        Relative tolerance of the neighbour distances (``scipy.spatial.cKDTree.query``).

    Returns
    -------
    numpy.ndarray, shape (n,), int64
        Row of ``support`` for each row of ``values``.
    """
    from scipy.spatial import cKDTree

    values, support = np.asarray(values, dtype=np.float64), np.asarray(support, dtype=np.float64)
    room = np.array(quota, dtype=np.int64)
    if room.sum() != len(values) or room.shape != (len(support),):
        raise ShapeError(f"quota must be ({len(support)},) summing to {len(values)}, got {room.shape}, {room.sum()}")
    out = np.full(len(values), -1, dtype=np.int64)
    pending = np.arange(len(values))
    while len(pending):
        open_rows = np.flatnonzero(room > 0)
        k = min(candidates, len(open_rows))
        distances, nearest = cKDTree(support[open_rows]).query(values[pending], k=k, eps=eps)
        distances, nearest = distances.reshape(len(pending), k), nearest.reshape(len(pending), k)
        for rank in range(k):
            free = out[pending] < 0
            pixels, rows = pending[free], open_rows[nearest[free, rank]]
            order = np.lexsort((distances[free, rank], rows))  # by row, then distance
            pixels, rows = pixels[order], rows[order]
            taken = np.arange(len(rows)) - np.searchsorted(rows, rows) < room[rows]
            out[pixels[taken]] = rows[taken]
            room -= np.bincount(rows[taken], minlength=len(room))
        pending = pending[out[pending] < 0]
    return out


class AmplitudeAdjustedField:
    """Surrogates of a reference by iterative amplitude-adjusted Fourier transforms (IAAFT,
    Schreiber & Schmitz 1996), multivariate: every pixel takes one of the reference's own
    vectors (SHSH of its orientations), each as often as in the reference (scaled to the output
    size, :func:`quotas` drawn per sample), and the arrangement is iterated towards the
    reference's cross-spectrum.

    Starting from a random arrangement of the reference's pixels, each iteration (a) imposes the
    spectral weights of a ``"fixed"`` sample of the reference's :class:`GaussianRandomField`
    (:meth:`GaussianRandomField.impose_spectrum`: phases kept), then (b) moves every pixel back
    onto the reference's vectors, each used its quota of times (:func:`assign_with_quotas`).
    Step (b) keeps the one-point distribution (the texture, all moments of the SHSH) exactly
    the reference's; step (a) drives the two-point statistics towards it. Unlike a Gaussian
    field mapped to orientations afterwards, the result is made of the reference's orientations
    and has the statistics after the projection, not before.

    Parameters
    ----------
    grf : GaussianRandomField
        The reference's spectrum on the output grid.
    support : array_like, shape (m, K)
        Distinct reference vectors.
    counts : array_like of int, shape (m,)
        How often each occurs in the reference.
    """

    def __init__(self, grf: GaussianRandomField, support, counts):
        self.grf = grf
        self.support = np.asarray(support, dtype=np.float64)
        self.counts = np.asarray(counts, dtype=np.int64)

    @classmethod
    def from_fields(cls, field, shape=None) -> tuple[AmplitudeAdjustedField, np.ndarray]:
        """The surrogate generator of one reference field ``(*ref_shape, K)`` on an output grid.

        Returns
        -------
        AmplitudeAdjustedField
        first_pixel : numpy.ndarray, shape (m,)
            Flat index into the reference of one pixel with each support vector (to carry the
            reference's orientations over unchanged).
        """
        field = np.asarray(field, dtype=np.float64)
        support, first_pixel, counts = np.unique(field.reshape(-1, field.shape[-1]), axis=0, return_index=True,
                                                 return_counts=True)
        return cls(GaussianRandomField.from_fields(field, shape), support, counts), first_pixel

    def sample(self, n: int = 1, rng=None, iterations: int = 30) -> tuple[np.ndarray, np.ndarray]:
        """``n`` surrogates.

        Parameters
        ----------
        n : int
        rng : numpy.random.Generator or int, optional
        iterations : int
            Upper bound on the (a)-(b) iterations per sample; a sample stops early when its
            arrangement no longer changes.

        Returns
        -------
        rows : numpy.ndarray, shape (n, *shape), int64
            Row of :attr:`support` at each pixel (``support[rows]`` is the field).
        misfit : numpy.ndarray, shape (n, iterations + 1)
            ``|x - a(x)| / |a(x) - mean|``, the relative L2 distance between the arrangement and
            its spectrum-imposed version, before the first and after every iteration (the last
            value repeated after an early stop).
        """
        rng = np.random.default_rng(rng)
        size = int(np.prod(self.grf.shape))
        rows_out, misfits = [], []
        for _ in range(int(n)):
            quota = quotas(self.counts, size, rng)
            rows = rng.permutation(np.repeat(np.arange(len(self.support)), quota))
            distance, imposed = self._misfit(rows)
            misfit = [distance]
            for _ in range(int(iterations)):
                new = assign_with_quotas(imposed.reshape(size, -1), self.support, quota)
                if np.array_equal(new, rows):
                    break
                rows = new
                distance, imposed = self._misfit(rows)
                misfit.append(distance)
            misfits.append(misfit + misfit[-1:] * (int(iterations) + 1 - len(misfit)))
            rows_out.append(rows.reshape(self.grf.shape))
        return np.stack(rows_out), np.array(misfits)

    def _misfit(self, rows: np.ndarray) -> tuple[float, np.ndarray]:
        """Relative distance of the arrangement ``rows (S,)`` from its spectrum-imposed version
        ``(1, *shape, K)``, and that version."""
        field = self.support[rows].reshape((1,) + self.grf.shape + (-1,))
        imposed = self.grf.impose_spectrum(field)
        return float(np.linalg.norm(field - imposed) / np.linalg.norm(imposed - self.grf.mean)), imposed


def consolidate_grains(omap, threshold: float = 12.0, rng=None) -> np.ndarray:
    """Grains from the orientation patches of a surrogate: every grain of ``omap`` segmented at
    ``threshold`` degrees (:func:`~mcrpy_poly.grains.segment_grains`, periodic, small grains
    dissolved into neighbours) takes the orientation of one of its own pixels, drawn at random.

    An IAAFT surrogate of a polycrystal holds the reference's orientations in patches of similar
    but not equal orientations (a speckle map at the usual 5 degrees); this makes each patch one
    grain. The draw is uniform over a grain's pixels, so the texture is kept in expectation.

    Parameters
    ----------
    omap : OrientationMap
        Every pixel indexed.
    threshold : float
        Largest disorientation (degrees) between neighbours of one grain.
    rng : numpy.random.Generator or int, optional

    Returns
    -------
    numpy.ndarray, shape (*omap.shape, 4)
        Quaternions (orix convention), one per grain.
    """
    from .grains import segment_grains

    labels = segment_grains(omap, threshold=threshold, periodic=True).labels.ravel()
    draw = np.random.default_rng(rng).random(labels.size)
    order = np.lexsort((draw, labels))  # by grain, randomly within
    chosen = order[np.searchsorted(labels[order], np.arange(labels.max() + 1))]
    return omap.quaternions.reshape(-1, 4)[chosen[labels]].reshape(omap.quaternions.shape)
