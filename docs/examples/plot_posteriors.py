"""
Posterior masses: a normalizing flow and SBI
============================================

Two ways to get a mass *distribution* for each cluster rather than one
number. :class:`~skcluster.FlowRegressor` (Kodi Ramanah et al. 2020) learns
p(log M | phase-space image) directly by maximum likelihood.
:class:`~skcluster.SBICalibrator` (Kodi Ramanah et al. 2021) turns any point
estimator into posteriors from out-of-fold predictions on simulations. Both
share one probabilistic API: ``predict_interval``, ``predict_pdf``,
``sample``, ``log_prob``.
"""

# %%
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np
from matplotlib import pyplot as plt

from skcluster import CylinderCut, FlowRegressor, MSigma, PhaseSpaceKDE, SBICalibrator
from skcluster.datasets import TINY_MOCK_PARAMS, make_mock_catalog
from skcluster.metrics import interval_coverage
from skcluster.pipeline import make_pipeline

catalog = make_mock_catalog(random_state=1, **TINY_MOCK_PARAMS)
train, test = catalog.train, catalog.test

# %%
# SBI around M-sigma. The calibration uses out-of-fold predictions, with
# folds grouped by halo id (``groups``), so a halo's other projections never
# calibrate its own prediction.
sbi = SBICalibrator(make_pipeline(CylinderCut(min_galaxies=None), MSigma()), cv=5)
sbi.fit(train.X, train.y, groups=train.groups)

# %%
# A flow on 32x32 (R_proj, v_los) images with a Gaussian-mixture density
# (few epochs: this is a demonstration, not a converged model).
flow = make_pipeline(
    CylinderCut(min_galaxies=None),
    PhaseSpaceKDE(coords="rv", grid_shape=(32, 32), bandwidth=0.15, flatten=True),
    FlowRegressor(density="mixture", hidden_layer_sizes=(64, 32), epochs=60, learning_rate=1e-3,
                  early_stopping=10, random_state=0),
)
flow.fit(train.X, train.y)

# %%
# Coverage of the central 68% and 95% intervals on the held-out test sample:
# the fraction of true masses inside them (ideal: 0.68 and 0.95).
for name, model in [("SBI around M-sigma", sbi), ("Flow", flow)]:
    intervals = model.predict_interval(test.X, confidence_level=[0.68, 0.95])
    cov = [interval_coverage(test.y, intervals[:, :, k]) for k in range(2)]
    print(f"{name:<20s} 68%: {cov[0]:.2f}   95%: {cov[1]:.2f}")

# %%
# Posterior densities of three test clusters; the vertical lines are the
# true masses.
y_grid = np.linspace(13.5, 15.5, 400)
fig, axes = plt.subplots(1, 3, figsize=(10, 3), sharey=True)
for ax, i in zip(axes, [0, len(test.y) // 2, len(test.y) - 1]):
    for name, model, color in [("SBI around M-sigma", sbi, "tab:orange"), ("Flow", flow, "tab:red")]:
        ax.plot(y_grid, model.predict_pdf([test.X[i]], y_grid)[0], color=color, label=name)
    ax.axvline(test.y[i], color="k", lw=1)
    ax.set_xlabel(r"$\log_{10} M_{200c}$ [$h^{-1} M_\odot$]")
axes[0].set_ylabel("posterior density")
axes[0].legend(fontsize=8)
fig.tight_layout()
