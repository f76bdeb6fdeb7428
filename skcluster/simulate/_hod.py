"""Zheng et al. (2007) halo occupation distribution.

Masses log10 M200c [h^-1 Msun] (the published fits used a virial-like mass;
the difference is ignored here).

<N_cen>(M) = 0.5 [1 + erf((log10 M - log10 M_min) / sigma_logM)]
<N_sat>(M) = ((M - M_0) / M_1')^alpha  for M > M_0, else 0

Centrals are Bernoulli, satellites Poisson, independently (the satellite
mean is not multiplied by <N_cen>).
"""

import numpy as np
from scipy.special import erf, erfinv

__all__ = ["Zheng07HOD", "ZHENG07_THRESHOLDS"]

#: Table 1 of Zheng et al. (2007), SDSS luminosity-threshold samples (M_r - 5 log10 h):
#: threshold -> (log10 M_min, sigma_logM, log10 M_0, log10 M_1', alpha), masses in h^-1 Msun.
ZHENG07_THRESHOLDS = {
    -18.0: (11.35, 0.25, 11.20, 12.40, 0.83),
    -18.5: (11.46, 0.24, 10.59, 12.68, 0.97),
    -19.0: (11.60, 0.26, 11.49, 12.83, 1.02),
    -19.5: (11.75, 0.28, 11.69, 13.01, 1.06),
    -20.0: (12.02, 0.26, 11.38, 13.31, 1.06),
    -20.5: (12.30, 0.21, 11.84, 13.58, 1.12),
    -21.0: (12.79, 0.39, 11.92, 13.94, 1.15),
    -21.5: (13.38, 0.51, 13.94, 13.91, 1.04),
    -22.0: (14.22, 0.77, 14.00, 14.69, 0.87),
}


class Zheng07HOD:
    """Mean and random galaxy occupation of halos (Zheng et al. 2007 form).

    Parameters
    ----------
    log_m_min : float, default=11.60
        log10 M_min [h^-1 Msun]: mass where half the halos host a central.
    sigma_log_m : float, default=0.26
        Width of the central step [dex].
    log_m0 : float, default=11.49
        log10 M_0 [h^-1 Msun]: satellite cut-off mass.
    log_m1 : float, default=12.83
        log10 M_1' [h^-1 Msun]: satellite normalisation mass.
    alpha : float, default=1.02
        Satellite power-law slope.

    The defaults are the SDSS M_r < -19 sample of Zheng et al. (2007, Table 1),
    about 1.25e-2 galaxies per (h^-1 Mpc)^3 with the Tinker et al. (2008) mass function;
    see :meth:`from_threshold`.

    Examples
    --------
    >>> from skcluster.simulate import Zheng07HOD
    >>> hod = Zheng07HOD.from_threshold(-20.0)
    >>> round(float(hod.mean_centrals(12.02)), 2), round(float(hod.mean_satellites(15.0)), 1)
    (0.5, 61.8)
    """

    def __init__(self, log_m_min=11.60, sigma_log_m=0.26, log_m0=11.49, log_m1=12.83, alpha=1.02):
        if not sigma_log_m > 0:
            raise ValueError(f"sigma_log_m must be positive [dex]; got {sigma_log_m}.")
        if not alpha > 0:
            raise ValueError(f"alpha must be positive; got {alpha}.")
        self.log_m_min = float(log_m_min)
        self.sigma_log_m = float(sigma_log_m)
        self.log_m0 = float(log_m0)
        self.log_m1 = float(log_m1)
        self.alpha = float(alpha)

    @classmethod
    def from_threshold(cls, threshold=-19.0):
        """The published fit for an SDSS luminosity threshold M_r - 5 log10 h.

        Parameters
        ----------
        threshold : float, default=-19.0
            One of -18.0, -18.5, ..., -22.0.
        """
        key = float(threshold)
        if key not in ZHENG07_THRESHOLDS:
            raise ValueError(
                f"No Zheng et al. (2007) fit for threshold {threshold}; choose one of "
                f"{sorted(ZHENG07_THRESHOLDS)} or pass the five parameters to Zheng07HOD(...)."
            )
        return cls(*ZHENG07_THRESHOLDS[key])

    def get_params(self):
        """Parameters as a dict (for storing with a catalogue)."""
        return {k: getattr(self, k) for k in ("log_m_min", "sigma_log_m", "log_m0", "log_m1", "alpha")}

    def __repr__(self):
        args = ", ".join(f"{k}={v}" for k, v in self.get_params().items())
        return f"Zheng07HOD({args})"

    def mean_centrals(self, log_mass):
        """Mean number of centrals in halos of log10 M200c ``log_mass``."""
        return 0.5 * (1.0 + erf((np.asarray(log_mass) - self.log_m_min) / self.sigma_log_m))

    def mean_satellites(self, log_mass):
        """Mean number of satellites in halos of log10 M200c ``log_mass``."""
        m = 10.0 ** np.asarray(log_mass, dtype=float)
        excess = np.clip(m - 10.0**self.log_m0, 0.0, None) / 10.0**self.log_m1
        return excess**self.alpha

    def min_log_mass(self, fraction=0.005):
        """Mass below which fewer than ``fraction`` of halos host a central [log10 h^-1 Msun]."""
        return self.log_m_min + self.sigma_log_m * float(erfinv(2.0 * fraction - 1.0))

    def sample(self, log_mass, rng):
        """Draw (has_central, n_satellites) for each halo."""
        log_mass = np.asarray(log_mass, dtype=float)
        cen = rng.random(log_mass.shape) < self.mean_centrals(log_mass)
        sat = rng.poisson(self.mean_satellites(log_mass))
        return cen, sat
