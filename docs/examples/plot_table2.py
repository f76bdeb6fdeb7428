"""
Ho et al. (2019) Table 2 on the built-in mock
=============================================

The papers compare mass estimators by the residuals
``eps = log10(M_pred / M_true)`` [dex] of held-out clusters. Here the
classical M-sigma relation (on pure and on contaminated galaxy samples), the
Support Distribution Machine and the Ho et al. (2019) CNN on (R_proj, v_los)
images are trained and tested with folds grouped by halo, so no halo is on
both sides. The tiny mock keeps the example fast; ``skcluster benchmark``
runs the same comparison on the full catalogue.
"""

# %%
# A tiny mock catalogue: a flat-in-mass training sample and a test sample
# that follows the halo mass function, both seen through a 1.6 h^-1 Mpc,
# +-2200 km/s cylinder (Ho et al. 2019).
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np
from matplotlib import pyplot as plt

from skcluster import CNNRegressor, CylinderCut, MSigma, PhaseSpaceKDE, SDMRegressor
from skcluster.comparison import halo_folds
from skcluster.datasets import TINY_MOCK_PARAMS, make_mock_catalog
from skcluster.metrics import residual_summary
from skcluster.pipeline import make_pipeline
from skcluster.plotting import plot_predicted_vs_true

catalog = make_mock_catalog(random_state=0, **TINY_MOCK_PARAMS)
train, test = catalog.train, catalog.test
print(f"{len(train.y)} training and {len(test.y)} test observations")

# %%
# The models, each a pipeline from galaxies to log10 M200c [h^-1 Msun].
models = {
    "M-sigma (pure)": ("pure", lambda: MSigma()),
    "M-sigma (contaminated)": ("contaminated", lambda: make_pipeline(CylinderCut(min_galaxies=None), MSigma())),
    "SDM 2D": ("contaminated", lambda: make_pipeline(CylinderCut(min_galaxies=None), SDMRegressor(features="rv"))),
    "CNN 2D": ("contaminated", lambda: make_pipeline(
        CylinderCut(min_galaxies=None), PhaseSpaceKDE(coords="rv"), CNNRegressor(epochs=10, random_state=0))),
}

# %%
# Three folds grouped by halo id: train on the training-sample projections of
# two thirds of the halos, predict the test-sample projections of the rest.
folds = list(halo_folds(train.groups, test.groups, n_splits=3, random_state=0))
predictions = {}
for name, (sample, build) in models.items():
    X_train = train.X_pure if sample == "pure" else train.X
    X_test = test.X_pure if sample == "pure" else test.X
    y_pred = np.empty(len(test.y))
    for tr, te in folds:
        model = build().fit([X_train[i] for i in tr], train.y[tr])
        y_pred[te] = model.predict([X_test[i] for i in te])
    predictions[name] = y_pred

# %%
# The Table-2 statistics of the residuals [dex].
print(f"{'model':<24s} {'median':>7s} {'p16':>7s} {'p84':>7s} {'std':>6s} {'skew':>6s} {'kurt':>6s}")
for name, y_pred in predictions.items():
    s = residual_summary(test.y, y_pred)
    print(f"{name:<24s} {s['median']:7.3f} {s['p16']:7.3f} {s['p84']:7.3f} {s['std']:6.3f} "
          f"{s['skewness']:6.2f} {s['kurtosis']:6.2f}")

# %%
# Predicted against true mass, with the median and the 16-84 and 3-97
# percentile bands of the predictions in bins of true mass. The panels share
# their axes, so the models compare by eye.
fig, axes = plt.subplots(1, len(predictions), figsize=(3.2 * len(predictions), 3.4),
                         sharex=True, sharey=True, layout="constrained")
for ax, (name, y_pred) in zip(axes, predictions.items()):
    plot_predicted_vs_true(test.y, y_pred, bins=5, ax=ax)
    ax.set_title(name, fontsize=9)
    ax.label_outer()
