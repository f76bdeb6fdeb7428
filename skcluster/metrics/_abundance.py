"""Bias of cluster abundances from non-Gaussian mass residuals.

Ho et al. (2019, §5.2, eq. 9-10), after Shaw et al. (2010) and Weinberg et
al. (2013): the distribution of the normalised log-residual
``x = (eps - <eps>) / sigma`` is described by an Edgeworth expansion

    P(x) ~ G(x) - (gamma / 6) G'''(x) + (kappa / 24) G''''(x),

with ``G`` the standard normal density, ``gamma`` the skewness and ``kappa``
the excess kurtosis. For a power-law mass function
``dn/dln M ∝ M^-alpha`` the abundance in bins of predicted mass, relative to
a purely lognormal scatter of the same width, is then

    (dn/dln M_pred) / (dn/dln M_pred)_0 = 1 + gamma (alpha s)^3 / 6 + kappa (alpha s)^4 / 24,

with ``s`` the scatter in natural-log units (``s = sigma_dex * ln 10``).
(Integrating ``exp(alpha s x)`` against ``G^(n)`` gives
``(-alpha s)^n exp((alpha s)^2 / 2)``.) With Ho's Table 2 cumulants and
``alpha = 2`` this reproduces their 1.7 % (CNN2D), 5.0 % (CNN1D), 23 %
(M-sigma contaminated) and 17.8 % (SDM1D).
"""

import numbers

import numpy as np

from ._residuals import residual_summary

__all__ = ["edgeworth_abundance_bias", "abundance_bias", "edgeworth_pdf"]

_LN10 = float(np.log(10.0))


def _check_number(value, name, *, positive=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {type(value).__name__}.")
    value = float(value)
    if not np.isfinite(value) or (positive and value <= 0):
        raise ValueError(f"{name} must be {'positive and ' if positive else ''}finite; got {value}.")
    return value


def edgeworth_abundance_bias(sigma, skewness, kurtosis, *, slope=2.0):
    """Fractional change of cluster abundance caused by non-Gaussian residuals.

    Ho et al. (2019), eq. 10 (see the module docstring for the derivation).

    Parameters
    ----------
    sigma : float
        Standard deviation of the residuals ``log10(M_pred / M_true)`` [dex].
    skewness : float
        Skewness of the residuals (dimensionless).
    kurtosis : float
        Excess kurtosis of the residuals (dimensionless, 0 for a Gaussian).
    slope : float, default=2.0
        Slope ``alpha`` of the power-law mass function
        ``dn/dln M ∝ M^-alpha`` (Ho et al. use 2).

    Returns
    -------
    bias : float
        ``(dn/dln M_pred) / (dn/dln M_pred)_0 - 1``: the abundance relative
        to a lognormal scatter of the same width, minus one (e.g. 0.05 means
        5 % more clusters). Its magnitude is the systematic uncertainty Ho et
        al. quote.

    Examples
    --------
    >>> from skcluster.metrics import edgeworth_abundance_bias
    >>> round(edgeworth_abundance_bias(0.132, 0.221, 1.600), 4)  # CNN2D, Ho Table 2
    0.0174
    """
    s = _check_number(sigma, "sigma", positive=True) * _LN10
    g = _check_number(skewness, "skewness")
    k = _check_number(kurtosis, "kurtosis")
    a = _check_number(slope, "slope")
    t = a * s
    return g * t**3 / 6.0 + k * t**4 / 24.0


def abundance_bias(y_true, y_pred, *, slope=2.0):
    """Abundance bias (Ho 2019, eq. 10) from the cumulants of measured residuals.

    Parameters
    ----------
    y_true : array-like of shape (n_clusters,)
        True log10 M200c [h^-1 Msun].
    y_pred : array-like of shape (n_clusters,)
        Predicted log10 M200c [h^-1 Msun].
    slope : float, default=2.0
        Slope ``alpha`` of the power-law mass function ``dn/dln M ∝ M^-alpha``.

    Returns
    -------
    bias : float
        Fractional change of the abundance relative to lognormal scatter, as
        in :func:`edgeworth_abundance_bias` (skewness and excess kurtosis from
        :func:`residual_summary`).

    Examples
    --------
    >>> import numpy as np
    >>> from skcluster.metrics import abundance_bias
    >>> rng = np.random.default_rng(0)
    >>> y = rng.uniform(14, 15, 5000)
    >>> abs(abundance_bias(y, y + rng.normal(0, 0.1, 5000))) < 0.01
    True
    """
    s = residual_summary(y_true, y_pred)
    if not np.isfinite(s["skewness"]):
        raise ValueError(
            "abundance_bias needs at least 3 clusters with non-constant residuals to estimate "
            f"skewness and kurtosis; got n={s['n']}, std={s['std']:.3g} dex."
        )
    return edgeworth_abundance_bias(s["std"], s["skewness"], s["kurtosis"], slope=slope)


def edgeworth_pdf(x, skewness, kurtosis):
    """Edgeworth-expanded density of a normalised residual (Ho 2019, eq. 9).

    Parameters
    ----------
    x : array-like
        Normalised residual ``(eps - <eps>) / sigma`` (dimensionless).
    skewness : float
        Skewness ``gamma``.
    kurtosis : float
        Excess kurtosis ``kappa``.

    Returns
    -------
    pdf : ndarray
        ``G(x) [1 + gamma He3(x) / 6 + kappa He4(x) / 24]`` with the
        probabilists' Hermite polynomials ``He3 = x^3 - 3x`` and
        ``He4 = x^4 - 6x^2 + 3``; it integrates to one but may be slightly
        negative in the tails for large cumulants.

    Examples
    --------
    >>> from skcluster.metrics import edgeworth_pdf
    >>> round(float(edgeworth_pdf(0.0, 0.0, 0.0)), 6)
    0.398942
    """
    x = np.asarray(x, dtype=float)
    g = _check_number(skewness, "skewness")
    k = _check_number(kurtosis, "kurtosis")
    gauss = np.exp(-0.5 * x**2) / np.sqrt(2 * np.pi)
    he3 = x**3 - 3 * x
    he4 = x**4 - 6 * x**2 + 3
    return gauss * (1 + g * he3 / 6 + k * he4 / 24)
