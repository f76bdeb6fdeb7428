"""Shared pieces of the plotting functions: axes creation, labels, colours.

matplotlib is imported only inside functions, so ``import skcluster`` never
needs it and never selects a backend.
"""

__all__ = ["MODEL_COLORS", "LABELS"]

#: Colours of the models in Ho et al. (2019), Table 2 and Figs. 7-10.
MODEL_COLORS = {
    "CNN1D": "tab:green",
    "CNN2D": "tab:blue",
    "M-sigma pure": "tab:purple",
    "M-sigma contaminated": "tab:orange",
    "SDM1D": "gold",
    "SDM2D": "tab:pink",
    "Flow": "tab:red",
}

#: Axis labels (units in brackets).
LABELS = {
    "log_m_true": r"$\log_{10}[M_\mathrm{true}\ (h^{-1}\,M_\odot)]$",
    "log_m_pred": r"$\log_{10}[M_\mathrm{pred}\ (h^{-1}\,M_\odot)]$",
    "residual": r"$\epsilon = \log_{10}(M_\mathrm{pred}/M_\mathrm{true})$ [dex]",
    "normalized_residual": r"$(\epsilon - \langle\epsilon\rangle)/\sigma_\epsilon$",
    "pdf": "PDF",
    "rate": r"sampling rate $r$",
    "robustness": r"$\epsilon(r)$ [dex]",
    "r_proj": r"$R_\mathrm{proj}$ [$h^{-1}$ Mpc]",
    "v_los": r"$v_\mathrm{los}$ [km s$^{-1}$]",
    "saliency": r"$\Delta\log_{10} M_\mathrm{pred}$ [dex]",
    "richness": r"$N_\mathrm{mem}$",
    "scatter": r"$\sigma_\epsilon$ [dex]",
}


def get_axes(ax, figsize=(5.0, 4.0)):
    """Return ``ax``, or new Axes on a new pyplot figure if it is None.

    The new figure uses the constrained layout, so axis labels and titles are
    not clipped.
    """
    if ax is not None:
        if not hasattr(ax, "plot") or not hasattr(ax, "figure"):
            raise TypeError(f"ax must be a matplotlib Axes or None; got {type(ax).__name__}.")
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def draw_bands(ax, x, table, *, color, label=None, line_kw=None):
    """Median line with 16-84 (dark) and 3-97 (light) percentile bands.

    ``table`` rows are the 3rd, 16th, 50th, 84th and 97th percentiles.
    """
    ax.fill_between(x, table[0], table[4], color=color, alpha=0.2, linewidth=0)
    ax.fill_between(x, table[1], table[3], color=color, alpha=0.45, linewidth=0)
    ax.plot(x, table[2], color=color, label=label, **(line_kw or {}))
