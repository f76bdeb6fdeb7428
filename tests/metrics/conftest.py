"""Toy regressors whose errors are known exactly, shared by the robustness tests."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin

from skcluster.testing import EVRARD_ALPHA, EVRARD_SIGMA_15


class RichnessRegressor(RegressorMixin, BaseEstimator):
    """log M = 13 + log10(number of galaxies): eps(r) is known exactly."""

    def fit(self, X, y):
        self.fitted_ = True
        return self

    def predict(self, X):
        return 13 + np.log10([len(c) for c in X])


class DispersionRegressor(RegressorMixin, BaseEstimator):
    """Evrard et al. (2008) M-sigma with the unbiased dispersion."""

    def fit(self, X, y):
        self.fitted_ = True
        return self

    def predict(self, X):
        sig = np.array([np.std(c[:, 2], ddof=1) for c in X])
        return 15 + np.log10(sig / EVRARD_SIGMA_15) / EVRARD_ALPHA


@pytest.fixture
def richness_regressor():
    """An unfitted :class:`RichnessRegressor`."""
    return RichnessRegressor()


@pytest.fixture
def dispersion_regressor():
    """An unfitted :class:`DispersionRegressor`."""
    return DispersionRegressor()
