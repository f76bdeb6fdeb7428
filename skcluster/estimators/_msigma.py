"""The virial M-sigma relation as a scikit-learn regressor (Ho et al. 2019, section 4.1)."""

import warnings
from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..exceptions import PoorClusterWarning, SkclusterWarning
from ..validation import check_clusters, check_log_mass
from ._dispersion import DISPERSION_METHODS, velocity_dispersion
from ._interlopers import INTERLOPER_METHODS, remove_interlopers

__all__ = ["MSigma"]

#: Dispersions below this value [km/s] are raised to it before taking logarithms.
MIN_DISPERSION = 1.0


class MSigma(RegressorMixin, BaseEstimator):
    """Dynamical mass from the velocity dispersion by a fitted power law.

    The relation (Evrard et al. 2008; Ho et al. 2019 eq. 5)

        sigma_v = sigma_15 [h(z) M200c / 10^15 Msun]^alpha

    is fitted by ordinary least squares of log10 sigma_v on log10 M200c
    for the training clusters above a mass cut, and inverted to predict
    log10 M200c [h^-1 Msun] from a cluster's velocity dispersion. Here
    h(z) = H(z) / (100 km/s/Mpc); with masses in h^-1 Msun,
    h(z) M200c[Msun] = E(z) M200c[h^-1 Msun], so ``sigma_15_`` is directly
    comparable with Evrard et al. (1082.9 km/s, alpha = 0.3361) and with
    Ho et al. Table 1 (pure 1078 km/s, 0.345; contaminated 971, 0.254).

    Parameters
    ----------
    dispersion : {"std", "gapper", "biweight"}, default="std"
        Velocity dispersion estimator: the unbiased standard deviation used
        by the papers, the gapper, or the biweight scale (see
        :func:`~skcluster.estimators.velocity_dispersion`).
    interlopers : {"gapper", "sigma_clip"} or None, default=None
        Interloper removal applied to every cluster before the dispersion,
        in fit and in predict: the shifting gapper or iterative 3-sigma
        clipping (see :func:`~skcluster.estimators.remove_interlopers`).
        If fewer than 2 galaxies survive, the cluster is used whole.
    log_mass_cut : float or None, default=14.5
        Only training clusters with log10 M200c [h^-1 Msun] at or above this
        value enter the fit (Ho et al. 2019); the relation is extrapolated
        below. None uses all clusters.
    redshift : float, default=0.117
        Redshift of the clusters, for h(z) (0.117: the MDPL2 snapshot used
        by Ho et al. 2019).
    cosmology : str, default="MDPL2"
        Cosmology for h(z): "MDPL2" or an astropy realization name.

    Attributes
    ----------
    sigma_15_ : float
        Fitted dispersion [km/s] at h(z) M200c = 10^15 Msun.
    alpha_ : float
        Fitted power-law slope.
    scatter_ : float
        Standard deviation [dex] of log10(sigma_v / sigma_v,pred) over the
        fitted clusters (Ho et al. 2019 eq. 7).
    efunc_ : float
        E(z) = H(z) / H0 at ``redshift``.
    n_fit_ : int
        Number of clusters in the fit.

    Examples
    --------
    >>> from skcluster import MSigma
    >>> from skcluster.testing import make_toy_clusters
    >>> X, y, groups = make_toy_clusters(300, log_mass_range=(14.0, 15.3), random_state=0)
    >>> model = MSigma(redshift=0.0).fit(X, y)
    >>> round(model.alpha_, 1), model.predict(X[:2]).shape
    (0.3, (2,))
    """

    _parameter_constraints = {
        "dispersion": [StrOptions(set(DISPERSION_METHODS))],
        "interlopers": [StrOptions(set(INTERLOPER_METHODS)), None],
        "log_mass_cut": [Interval(Real, None, None, closed="neither"), None],
        "redshift": [Interval(Real, 0, None, closed="left")],
        "cosmology": [str],
    }

    def __init__(self, *, dispersion="std", interlopers=None, log_mass_cut=14.5, redshift=0.117,
                 cosmology="MDPL2"):
        self.dispersion = dispersion
        self.interlopers = interlopers
        self.log_mass_cut = log_mass_cut
        self.redshift = redshift
        self.cosmology = cosmology

    def _log_dispersions(self, X):
        """log10 velocity dispersion [km/s] of each cluster, after interloper removal."""
        clusters = check_clusters(X, min_galaxies=2)
        sigma = np.empty(len(clusters))
        n_undone = 0
        for i, cluster in enumerate(clusters):
            members, undone = remove_interlopers(cluster, self.interlopers)
            n_undone += undone
            sigma[i] = velocity_dispersion(members[:, 2], self.dispersion)
        if n_undone:
            warnings.warn(
                f"Interloper removal left fewer than 2 galaxies in {n_undone} cluster(s); "
                "those clusters were used whole.", PoorClusterWarning, stacklevel=3,
            )
        low = sigma < MIN_DISPERSION
        if low.any():
            warnings.warn(
                f"{low.sum()} cluster(s) have a velocity dispersion below {MIN_DISPERSION} km/s "
                "(identical velocities?); raised to that value.", PoorClusterWarning, stacklevel=3,
            )
            sigma[low] = MIN_DISPERSION
        return np.log10(sigma)

    def _log_efunc(self):
        from ..cosmology import get_cosmology

        return float(np.log10(get_cosmology(self.cosmology).efunc(self.redshift)))

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit sigma_15 and alpha.

        Parameters
        ----------
        X : list of array-like of shape (n_galaxies, 3)
            Clusters: (x_proj [comoving h^-1 Mpc], y_proj [h^-1 Mpc],
            v_los [km/s]); at least 2 galaxies each.
        y : array-like of shape (n_clusters,)
            log10 M200c [h^-1 Msun].

        Returns
        -------
        self : MSigma
        """
        log_sigma = self._log_dispersions(X)
        y = check_log_mass(y, n_clusters=len(log_sigma))
        self.efunc_ = 10 ** self._log_efunc()
        sel = np.ones(len(y), dtype=bool) if self.log_mass_cut is None else y >= self.log_mass_cut
        if sel.sum() < 2 or np.ptp(y[sel]) == 0:
            raise ValueError(
                f"Fewer than 2 distinct masses at or above log_mass_cut={self.log_mass_cut} "
                f"(got {int(sel.sum())} clusters there; y ranges over [{y.min():.3g}, {y.max():.3g}]). "
                "Lower log_mass_cut or set it to None."
            )
        x = y[sel] + np.log10(self.efunc_) - 15.0
        slope, intercept = np.polyfit(x, log_sigma[sel], 1)
        self.alpha_ = float(slope)
        self.sigma_15_ = float(10 ** intercept)
        resid = log_sigma[sel] - (intercept + slope * x)
        self.scatter_ = float(np.std(resid))
        self.n_fit_ = int(sel.sum())
        if self.alpha_ <= 0:
            warnings.warn(
                f"Fitted alpha = {self.alpha_:.3g} <= 0: the dispersion does not rise with mass in "
                "the training set, so predictions are meaningless.", SkclusterWarning, stacklevel=2,
            )
        return self

    def predict(self, X):
        """Predict log10 M200c [h^-1 Msun] by inverting the fitted relation.

        Parameters
        ----------
        X : list of array-like of shape (n_galaxies, 3)
            Clusters, as in :meth:`fit`.

        Returns
        -------
        y_pred : ndarray of shape (n_clusters,)
            log10 M200c [h^-1 Msun].
        """
        check_is_fitted(self, "alpha_")
        log_sigma = self._log_dispersions(X)
        return 15.0 - np.log10(self.efunc_) + (log_sigma - np.log10(self.sigma_15_)) / self.alpha_

    def predict_dispersion(self, y):
        """Velocity dispersion [km/s] of the fitted relation at log10 M200c ``y`` [h^-1 Msun].

        Parameters
        ----------
        y : array-like
            log10 M200c [h^-1 Msun].

        Returns
        -------
        sigma : ndarray
            sigma_v [km/s].
        """
        check_is_fitted(self, "alpha_")
        x = np.asarray(y, dtype=float) + np.log10(self.efunc_) - 15.0
        return self.sigma_15_ * 10 ** (self.alpha_ * x)
