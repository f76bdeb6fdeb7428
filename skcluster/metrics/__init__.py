"""skcluster.metrics: how well cluster masses are measured.

Residual statistics of ``eps = log10(M_pred / M_true)`` [dex] (Ho et al. 2019,
Table 2), the abundance bias of non-Gaussian residuals (eq. 9-10), the
Wojtak et al. (2018) mass and richness dependence, robustness to the galaxy
sampling rate (§5.4) and to survey effects (fibre collisions, incompleteness,
velocity errors, miscentring), occlusion saliency maps (Kodi Ramanah et al. 2020,
§7) and posterior calibration diagnostics.
"""
from ._abundance import abundance_bias, edgeworth_abundance_bias, edgeworth_pdf
from ._calibration import (
    coverage_curve,
    coverage_standard_error,
    interval_coverage,
    log_prob_scorer,
    pit_values,
    rank_statistics,
    tarp_coverage,
)
from ._mass_dependence import WOJTAK_PARAMETERS, mass_richness_dependence, richness_scatter
from ._residuals import (
    RESIDUAL_STATISTICS,
    residual_scatter,
    residual_scatter_scorer,
    residual_summary,
    residual_summary_binned,
    residuals,
)
from ._robustness import robustness_summary, sampling_robustness, subsample_clusters
from ._saliency import gaussian_occlusion_mask, occlusion_saliency
from ._survey_robustness import effect_robustness, effect_robustness_summary

__all__ = [
    "RESIDUAL_STATISTICS",
    "WOJTAK_PARAMETERS",
    "abundance_bias",
    "coverage_curve",
    "coverage_standard_error",
    "edgeworth_abundance_bias",
    "edgeworth_pdf",
    "effect_robustness",
    "effect_robustness_summary",
    "gaussian_occlusion_mask",
    "interval_coverage",
    "log_prob_scorer",
    "mass_richness_dependence",
    "occlusion_saliency",
    "pit_values",
    "rank_statistics",
    "residual_scatter",
    "residual_scatter_scorer",
    "residual_summary",
    "residual_summary_binned",
    "residuals",
    "richness_scatter",
    "robustness_summary",
    "sampling_robustness",
    "subsample_clusters",
    "tarp_coverage",
]
