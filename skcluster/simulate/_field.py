"""Gaussian linear density field on a periodic grid, its smoothing and its velocities.

Lengths are comoving h^-1 Mpc, wavenumbers h Mpc^-1, velocities km/s. Fields
are float32 (complex64 in Fourier space) to halve memory and FFT time.
"""

import numpy as np
import scipy.fft as sfft

__all__ = ["LinearField", "fft_friendly"]


def fft_friendly(n):
    """Smallest integer >= n whose prime factors are 2, 3 and 5 (fast FFTs)."""
    n = int(max(n, 2))
    while True:
        m = n
        for p in (2, 3, 5):
            while m % p == 0:
                m //= p
        if m == 1:
            return n
        n += 1


def _tophat(kr):
    """Fourier transform of a spherical top hat of radius 1 at k*R."""
    out = np.ones_like(kr)
    big = kr > 1e-3
    x = kr[big]
    out[big] = 3.0 * (np.sin(x) - x * np.cos(x)) / x**3
    return out


class LinearField:
    """One realisation of the linear matter density field in a periodic box.

    Parameters
    ----------
    power : callable
        Linear power spectrum P(k) [(h^-1 Mpc)^3] of k [h Mpc^-1] at the
        snapshot redshift.
    box_size : float
        Side of the box [h^-1 Mpc].
    n_grid : int
        Cells per side.
    rng : numpy.random.Generator
        Source of the white noise.
    workers : int, default=1
        Threads for scipy.fft.

    Attributes
    ----------
    delta_k : ndarray of complex64 (rfftn layout)
        Fourier modes of the overdensity (numpy's unnormalised convention).
    cell : float
        Cell size [h^-1 Mpc].
    """

    def __init__(self, power, box_size, n_grid, rng, *, workers=1):
        self.box_size = float(box_size)
        self.n_grid = int(n_grid)
        self.cell = self.box_size / self.n_grid
        self.workers = int(workers)
        n = self.n_grid
        kf = 2.0 * np.pi / self.box_size
        self._kx = (sfft.fftfreq(n, d=1.0 / n) * kf).astype(np.float32)
        self._kz = (sfft.rfftfreq(n, d=1.0 / n) * kf).astype(np.float32)
        kmag = np.sqrt(self._kx[:, None, None] ** 2 + self._kx[None, :, None] ** 2
                       + self._kz[None, None, :] ** 2)
        # P(k) on a fine linear grid, then interpolated: avoids logs of every mode
        k_grid = np.linspace(0.0, float(kmag.max()) * 1.0001, 200_001)
        p_grid = np.sqrt(power(k_grid) / self.cell**3)
        amp = np.interp(kmag, k_grid, p_grid).astype(np.float32)
        amp[0, 0, 0] = 0.0
        noise = rng.standard_normal((n, n, n), dtype=np.float32)
        self.delta_k = sfft.rfftn(noise, workers=self.workers)
        del noise
        self.delta_k *= amp
        self.kmag = kmag

    def smoothed(self, radius, coarsen=1):
        """Real-space overdensity smoothed with a top hat of comoving ``radius`` [h^-1 Mpc].

        ``radius <= 0`` returns the field at the grid resolution. ``coarsen``
        (a power of 2 dividing the grid) returns it on a grid ``coarsen``
        times coarser, keeping only the modes that grid resolves: enough once
        the top hat has removed the small scales, and ``coarsen**3`` times cheaper.
        """
        field_k = self.delta_k
        n = self.n_grid
        if coarsen > 1:
            m = n // coarsen
            if m * coarsen != n or m % 2:
                raise ValueError(f"coarsen={coarsen} must divide the grid ({n}) into an even size.")
            keep = np.r_[0:m // 2, n - m // 2:n]
            field_k = field_k[keep][:, keep][:, :, : m // 2 + 1] / np.float32(coarsen**3)
            kmag = self.kmag[keep][:, keep][:, :, : m // 2 + 1]
            n = m
        else:
            kmag = self.kmag
        if radius > 0:
            field_k = field_k * _tophat(kmag * np.float32(radius))
        return sfft.irfftn(field_k, s=(n,) * 3, workers=self.workers)

    def velocity(self, factor):
        """Linear peculiar velocity [km/s] on the grid, shape (3, n, n, n).

        ``factor`` is f(z) a H(z) in km/s per comoving h^-1 Mpc, so that
        v_k = i factor k delta_k / k^2.
        """
        k2 = self.kmag**2
        k2[0, 0, 0] = 1.0
        base = (1j * np.float32(factor)) * self.delta_k / k2
        out = np.empty((3,) + (self.n_grid,) * 3, dtype=np.float32)
        components = (self._kx[:, None, None], self._kx[None, :, None], self._kz[None, None, :])
        for axis, kc in enumerate(components):
            out[axis] = sfft.irfftn(base * kc, s=(self.n_grid,) * 3, workers=self.workers)
        return out
