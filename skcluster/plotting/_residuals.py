"""Figures of predicted masses and residuals (Ho et al. 2019, Figs. 7-9)."""

import numpy as np
from scipy import stats

from ..metrics._residuals import _check_pair, binned_percentiles
from ._axes import LABELS, draw_bands, get_axes

__all__ = ["plot_predicted_vs_true", "plot_binned_residuals", "plot_residual_pdf"]

_PERCENTILES = (3, 16, 50, 84, 97)


def plot_predicted_vs_true(y_true, y_pred, *, bins=10, ax=None, color="tab:blue", label=None):
    """Predicted against true mass with median and 16-84, 3-97 percentile bands.

    As Ho et al. (2019), Fig. 7 (upper panels): predictions are binned in
    true mass; the dashed line is the one-to-one relation.

    Parameters
    ----------
    y_true : array-like of shape (n_clusters,)
        True log10 M200c [h^-1 Msun].
    y_pred : array-like of shape (n_clusters,)
        Predicted log10 M200c [h^-1 Msun].
    bins : int or array-like, default=10
        Bins of true mass (number, or edges in log10 M200c).
    ax : matplotlib Axes, default=None
        Where to draw; a new figure if None.
    color : str, default="tab:blue"
        Colour of the median line and bands.
    label : str, default=None
        Legend label of the median line.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import numpy as np
    >>> from skcluster.plotting import plot_predicted_vs_true
    >>> rng = np.random.default_rng(0)
    >>> y = rng.uniform(14, 15, 300)
    >>> ax = plot_predicted_vs_true(y, y + rng.normal(0, 0.1, 300))
    >>> ax.get_ylabel()
    '$\\\\log_{10}[M_\\\\mathrm{pred}\\\\ (h^{-1}\\\\,M_\\\\odot)]$'
    >>> import matplotlib.pyplot as plt; plt.close(ax.figure)
    """
    yt, yp = _check_pair(y_true, y_pred)
    ax = get_axes(ax)
    centers, table = binned_percentiles(yt, yp, bins, _PERCENTILES)
    ok = np.all(np.isfinite(table), axis=0)
    draw_bands(ax, centers[ok], table[:, ok], color=color, label=label)
    lo, hi = float(min(yt.min(), np.nanmin(table[0]))), float(max(yt.max(), np.nanmax(table[4])))
    ax.plot([lo, hi], [lo, hi], ls="--", color="0.3", lw=1)
    ax.set_xlabel(LABELS["log_m_true"])
    ax.set_ylabel(LABELS["log_m_pred"])
    if label is not None:
        ax.legend(loc="upper left")
    return ax


def plot_binned_residuals(y_true, y_pred, *, bins=10, ax=None, color="tab:blue", label=None, outer=True):
    """Residuals against true mass: median with 16-84 (and 3-97) percentile bands.

    As Ho et al. (2019), Fig. 7 (lower panels) and Fig. 8 (left column).

    Parameters
    ----------
    y_true : array-like of shape (n_clusters,)
        True log10 M200c [h^-1 Msun].
    y_pred : array-like of shape (n_clusters,)
        Predicted log10 M200c [h^-1 Msun].
    bins : int or array-like, default=10
        Bins of true mass.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure if None.
    color : str, default="tab:blue"
        Colour.
    label : str, default=None
        Legend label.
    outer : bool, default=True
        Draw the 3-97 percentile band too (Fig. 8 shows only 16-84).

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import numpy as np
    >>> from skcluster.plotting import plot_binned_residuals
    >>> y = np.linspace(14, 15, 200)
    >>> ax = plot_binned_residuals(y, y + 0.05 * np.sin(40 * y), outer=False)
    >>> ax.get_xlabel()
    '$\\\\log_{10}[M_\\\\mathrm{true}\\\\ (h^{-1}\\\\,M_\\\\odot)]$'
    >>> import matplotlib.pyplot as plt; plt.close(ax.figure)
    """
    yt, yp = _check_pair(y_true, y_pred)
    ax = get_axes(ax)
    centers, table = binned_percentiles(yt, yp - yt, bins, _PERCENTILES)
    ok = np.all(np.isfinite(table), axis=0)
    if outer:
        draw_bands(ax, centers[ok], table[:, ok], color=color, label=label)
    else:
        ax.fill_between(centers[ok], table[1, ok], table[3, ok], color=color, alpha=0.45, linewidth=0)
        ax.plot(centers[ok], table[2, ok], color=color, label=label)
    ax.axhline(0.0, ls="--", color="0.3", lw=1)
    ax.set_xlabel(LABELS["log_m_true"])
    ax.set_ylabel(LABELS["residual"])
    if label is not None:
        ax.legend(loc="best")
    return ax


def plot_residual_pdf(y_true, y_pred, *, normalize=True, ax=None, color="tab:blue", label=None,
                      gaussian=True, n_points=200):
    """Probability density of the residuals (Ho et al. 2019, Figs. 8-9).

    Parameters
    ----------
    y_true : array-like of shape (n_clusters,)
        True log10 M200c [h^-1 Msun].
    y_pred : array-like of shape (n_clusters,)
        Predicted log10 M200c [h^-1 Msun].
    normalize : bool, default=True
        Plot ``(eps - <eps>) / sigma_eps`` (Fig. 9) with a standard normal
        for reference; otherwise ``eps`` in dex with its 16th-84th
        percentile range shaded (Fig. 8, right).
    ax : matplotlib Axes, default=None
        Where to draw; a new figure if None.
    color : str, default="tab:blue"
        Colour.
    label : str, default=None
        Legend label; ``sigma_eps`` in dex is appended.
    gaussian : bool, default=True
        Draw the reference standard normal (normalised plot only).
    n_points : int, default=200
        Points of the kernel density estimate curve.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import numpy as np
    >>> from skcluster.plotting import plot_residual_pdf
    >>> rng = np.random.default_rng(0)
    >>> y = rng.uniform(14, 15, 300)
    >>> ax = plot_residual_pdf(y, y + rng.normal(0, 0.1, 300), label="toy")
    >>> ax.get_ylabel()
    'PDF'
    >>> import matplotlib.pyplot as plt; plt.close(ax.figure)
    """
    yt, yp = _check_pair(y_true, y_pred)
    eps = yp - yt
    sigma = float(np.std(eps))
    if eps.size < 2 or sigma == 0:
        raise ValueError("plot_residual_pdf needs at least 2 clusters with non-constant residuals.")
    ax = get_axes(ax)
    values = (eps - eps.mean()) / sigma if normalize else eps
    pad = 0.25 * np.ptp(values)
    grid = np.linspace(values.min() - pad, values.max() + pad, n_points)
    pdf = stats.gaussian_kde(values)(grid)
    text = rf"$\sigma_\epsilon$ = {sigma:.3f} dex"
    ax.plot(grid, pdf, color=color, label=text if label is None else f"{label} ({text})")
    if normalize:
        if gaussian:
            ax.plot(grid, stats.norm.pdf(grid), ls="--", color="0.4", lw=1, label="Gaussian")
        ax.set_xlabel(LABELS["normalized_residual"])
    else:
        p16, p84 = np.percentile(eps, [16, 84])
        inside = (grid >= p16) & (grid <= p84)
        ax.fill_between(grid[inside], pdf[inside], color=color, alpha=0.3, linewidth=0)
        ax.axvline(0.0, ls="--", color="0.3", lw=1)
        ax.set_xlabel(LABELS["residual"])
    ax.set_ylabel(LABELS["pdf"])
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper right")
    return ax
