"""CylinderCut: trim cluster observations to a cylinder in phase space."""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval

from ..constants import APERTURE, MIN_GALAXIES, V_CUT
from ..exceptions import PoorClusterWarning
from ..validation import check_clusters, make_cluster_array

__all__ = ["CylinderCut"]


class CylinderCut(TransformerMixin, BaseEstimator):
    """Keep the galaxies within a projected aperture and a velocity window.

    Each cluster keeps its galaxies with ``R_proj <= aperture`` and
    ``|v_los| <= v_cut``. The cut is stateless and cheap, so the cylinder
    size can be grid-searched inside a Pipeline; select generous cylinders
    from a large catalogue once with :func:`skcluster.observe.select_cylinders`.

    A Pipeline cannot drop samples: a cluster left with fewer than
    ``min_galaxies`` galaxies is kept (possibly empty) and a
    :class:`~skcluster.exceptions.PoorClusterWarning` names how many there are.
    Apply the richness cut when building the catalogue instead.

    Parameters
    ----------
    aperture : float, default=1.6
        Cylinder radius [comoving h^-1 Mpc] (Ho et al. 2019).
    v_cut : float, default=2200.0
        Half-depth of the velocity window [km/s] (Ho et al. 2019; Kodi
        Ramanah et al. 2020 used 2500).
    min_galaxies : int or None, default=10
        Richness below which a trimmed cluster triggers a warning
        (``N_min`` of Ho et al. 2019); None never warns.

    Attributes
    ----------
    n_poor_ : int
        Number of clusters below ``min_galaxies`` in the last ``transform``.

    Examples
    --------
    >>> import numpy as np
    >>> from skcluster import CylinderCut
    >>> X = [np.array([[0.2, 0.1, 300.0], [1.5, 1.0, 100.0], [0.1, 0.0, -2500.0]])]
    >>> CylinderCut(min_galaxies=None).fit_transform(X)[0].tolist()
    [[0.2, 0.1, 300.0]]
    """

    _parameter_constraints = {
        "aperture": [Interval(Real, 0, None, closed="neither")],
        "v_cut": [Interval(Real, 0, None, closed="neither")],
        "min_galaxies": [Interval(Integral, 0, None, closed="left"), None],
    }

    def __init__(self, *, aperture=APERTURE, v_cut=V_CUT, min_galaxies=MIN_GALAXIES):
        self.aperture = aperture
        self.v_cut = v_cut
        self.min_galaxies = min_galaxies

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Validate the parameters and the clusters; nothing is learnt.

        Parameters
        ----------
        X : list of array-like of shape (n_galaxies, 3)
            Clusters (x_proj [h^-1 Mpc], y_proj [h^-1 Mpc], v_los [km/s]).
        y : ignored

        Returns
        -------
        self : CylinderCut
        """
        check_clusters(X)
        return self

    def transform(self, X):
        """Trim each cluster to the cylinder.

        Parameters
        ----------
        X : list of array-like of shape (n_galaxies, 3)
            Clusters (x_proj [h^-1 Mpc], y_proj [h^-1 Mpc], v_los [km/s]).

        Returns
        -------
        X_cut : ndarray of object of shape (n_clusters,)
            The trimmed clusters, in the input order, none dropped.
        """
        self._validate_params()
        clusters = check_clusters(X)
        out = []
        for c in clusters:
            keep = (np.hypot(c[:, 0], c[:, 1]) <= self.aperture) & (np.abs(c[:, 2]) <= self.v_cut)
            out.append(c[keep])
        self.n_poor_ = 0
        if self.min_galaxies is not None:
            poor = [i for i, c in enumerate(out) if len(c) < self.min_galaxies]
            self.n_poor_ = len(poor)
            if poor:
                warnings.warn(
                    f"{len(poor)} of {len(out)} clusters hold fewer than {self.min_galaxies} galaxies after the "
                    f"cut (first: cluster {poor[0]} with {len(out[poor[0]])}); they are kept. Apply the "
                    "richness cut when building the catalogue, or lower min_galaxies.",
                    PoorClusterWarning,
                    stacklevel=2,
                )
        return make_cluster_array(out)

    def __sklearn_is_fitted__(self):
        return True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.two_d_array = False
        return tags
