"""Figure of the sampling robustness eps(r) (Ho et al. 2019, Fig. 10)."""

import numpy as np

from ._axes import LABELS, get_axes

__all__ = ["plot_sampling_robustness"]


def plot_sampling_robustness(result, *, ax=None, color="tab:blue", label=None):
    """Median and 16-84 percentile band of eps(r) against the sampling rate.

    Parameters
    ----------
    result : Bunch
        Output of :func:`skcluster.metrics.sampling_robustness` (``rates``
        and ``deviation`` of shape (n_rates, n_clusters) [dex]).
    ax : matplotlib Axes, default=None
        Where to draw; a new figure if None.
    color : str, default="tab:blue"
        Colour.
    label : str, default=None
        Legend label.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.utils import Bunch
    >>> from skcluster.plotting import plot_sampling_robustness
    >>> rates = np.linspace(0.1, 1, 10)
    >>> dev = np.random.default_rng(0).normal(0, 0.1, (10, 50)) * (1 - rates)[:, None]
    >>> ax = plot_sampling_robustness(Bunch(rates=rates, deviation=dev))
    >>> ax.get_xlabel()
    'sampling rate $r$'
    >>> import matplotlib.pyplot as plt; plt.close(ax.figure)
    """
    rates = np.asarray(result["rates"], dtype=float)
    dev = np.asarray(result["deviation"], dtype=float)
    if dev.ndim != 2 or dev.shape[0] != rates.size:
        raise ValueError(
            f"result['deviation'] must have shape (n_rates, n_clusters) = ({rates.size}, n); got {dev.shape}."
        )
    order = np.argsort(rates)
    p16, med, p84 = np.percentile(dev[order], [16, 50, 84], axis=1)
    ax = get_axes(ax)
    ax.fill_between(rates[order], p16, p84, color=color, alpha=0.35, linewidth=0)
    ax.plot(rates[order], med, color=color, marker="o", ms=3, label=label)
    ax.axhline(0.0, ls="--", color="0.3", lw=1)
    ax.axvspan(0.6, 0.8, color="0.9", zorder=0)
    ax.set_xlim(0, 1.02)
    ax.set_xlabel(LABELS["rate"])
    ax.set_ylabel(LABELS["robustness"])
    if label is not None:
        ax.legend(loc="lower right")
    return ax
