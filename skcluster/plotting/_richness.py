"""Figure of the richness dependence of the scatter (Wojtak et al. 2018; KR 2020, eq. 8)."""

import numpy as np

from ..metrics._mass_dependence import richness_scatter
from ..metrics._residuals import _check_pair
from ._axes import LABELS, get_axes

__all__ = ["plot_richness_scatter"]


def plot_richness_scatter(y_true, y_pred, n_members, *, fit=None, bins=6, min_count=5, ax=None,
                          color="tab:blue", label=None):
    """Residual scatter in bins of richness, with the fitted Wojtak model.

    Parameters
    ----------
    y_true : array-like of shape (n_clusters,)
        True log10 M200c [h^-1 Msun].
    y_pred : array-like of shape (n_clusters,)
        Predicted log10 M200c [h^-1 Msun].
    n_members : array-like of shape (n_clusters,)
        Richness (number of galaxies) of each cluster.
    fit : Bunch, default=None
        Output of :func:`skcluster.metrics.mass_richness_dependence`; its
        mean relation is subtracted before binning and its scatter
        ``sqrt(sigma_N^2 (N/N0)^-1 + sigma_0^2)`` is drawn as a line.
    bins : int or array-like, default=6
        Number of logarithmically spaced richness bins, or bin edges.
    min_count : int, default=5
        Bins with fewer clusters are not drawn.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure if None.
    color : str, default="tab:blue"
        Colour.
    label : str, default=None
        Legend label of the binned points.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import numpy as np
    >>> from skcluster.plotting import plot_richness_scatter
    >>> rng = np.random.default_rng(0)
    >>> n = rng.integers(10, 200, 500)
    >>> y = rng.uniform(14, 15, 500)
    >>> ax = plot_richness_scatter(y, y + rng.normal(0, 0.7 / np.sqrt(n)), n)
    >>> ax.get_xlabel()
    '$N_\\\\mathrm{mem}$'
    >>> import matplotlib.pyplot as plt; plt.close(ax.figure)
    """
    yt, yp = _check_pair(y_true, y_pred)
    n = np.asarray(n_members, dtype=float)
    if n.shape != yt.shape or np.any(~np.isfinite(n)) or np.any(n <= 0):
        raise ValueError(
            f"n_members must hold one positive richness per cluster ({yt.size}); got shape {n.shape}."
        )
    eps = yp - yt
    if fit is not None:
        p = fit["params"]
        eps = eps - (p["mu0"] + (p["alpha0"] - 1) * (yt - fit["log_pivot_mass"]))
    if np.ndim(bins) == 0:
        edges = np.geomspace(n.min(), n.max() * (1 + 1e-9), int(bins) + 1)
    else:
        edges = np.asarray(bins, dtype=float)
    idx = np.searchsorted(edges, n, side="right") - 1
    centres, sig, err = [], [], []
    for b in range(edges.size - 1):
        sel = eps[idx == b]
        if sel.size >= max(2, min_count):
            # about the fitted mean if given, else the bin mean
            s = np.sqrt(np.mean(sel**2)) if fit is not None else np.std(sel, ddof=1)
            centres.append(np.sqrt(edges[b] * edges[b + 1]))
            sig.append(s)
            err.append(s / np.sqrt(2 * (sel.size - 1)))
    ax = get_axes(ax)
    ax.errorbar(np.array(centres), np.array(sig), yerr=np.array(err), fmt="o", color=color, ms=4, capsize=2, label=label)
    if fit is not None:
        p = fit["params"]
        grid = np.geomspace(edges[0], edges[-1], 100)
        model = richness_scatter(grid, p["sigma_N"], p["sigma_0"], richness_pivot=fit["richness_pivot"])
        ax.plot(grid, model, color=color,
                label=rf"$\sigma_N$ = {p['sigma_N']:.3f}, $\sigma_0$ = {p['sigma_0']:.3f} dex")
        ax.legend(loc="upper right")
    elif label is not None:
        ax.legend(loc="upper right")
    ax.set_xscale("log")
    ax.set_xlabel(LABELS["richness"])
    ax.set_ylabel(LABELS["scatter"])
    return ax
