"""skcluster.plotting: the papers' figures with matplotlib.

Predicted-vs-true masses with percentile bands and binned residuals (Ho et
al. 2019, Figs. 7-8), residual PDFs (Fig. 9), sampling robustness (Fig. 10), the richness
dependence of the scatter (Kodi Ramanah et al. 2020, eq. 8),
phase-space images and saliency maps (Kodi Ramanah et al. 2020, Figs. 1, 9).
Every function draws on ``ax`` (or a new figure) and returns the Axes.
matplotlib is imported only when a function is called (``pip install
skcluster[plotting]``).
"""

from ._axes import LABELS, MODEL_COLORS
from ._images import plot_phase_space, plot_saliency
from ._residuals import plot_binned_residuals, plot_predicted_vs_true, plot_residual_pdf
from ._richness import plot_richness_scatter
from ._robustness import plot_sampling_robustness

__all__ = [
    "MODEL_COLORS",
    "LABELS",
    "plot_predicted_vs_true",
    "plot_binned_residuals",
    "plot_residual_pdf",
    "plot_richness_scatter",
    "plot_sampling_robustness",
    "plot_phase_space",
    "plot_saliency",
]
