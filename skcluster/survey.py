"""A survey description that the mock catalogue and real data both honour.

:class:`Survey` holds what decides how a cluster looks in a redshift survey:
the cluster redshifts, the apparent-magnitude limit, spectroscopic
completeness, fibre collisions, redshift errors and how far from the centre
the data reach. It turns into keyword arguments of
:func:`skcluster.datasets.make_sdss_mock_catalog` (:meth:`Survey.mock_kwargs`)
and into the observational-effect transformers that degrade mock clusters the
same way (:meth:`skcluster.survey.Survey.degrade`). Presets: ``SDSS_MAIN``, :data:`DESI_BGS`;
:meth:`Survey.from_tables` infers one from a galaxy table and a cluster list.

Units: magnitudes AB (r band), angles arcsec, velocities km/s, radii comoving h^-1 Mpc.
"""

import dataclasses

import numpy as np

from .constants import SPEED_OF_LIGHT, V_CUT

__all__ = ["DESI_BGS", "SDSS_MAIN", "SURVEYS", "Survey", "get_survey"]

# The mock's observers must stay farther than the cylinder's depth (see make_sdss_mock_catalog).
_MIN_OBSERVER_DISTANCE = 60.0  # h^-1 Mpc
# Largest footprint radius measured by Survey.from_tables (beyond the mock's 4 h^-1 Mpc cylinder) [h^-1 Mpc].
_MAX_REACH = 6.0


@dataclasses.dataclass(frozen=True)
class Survey:
    """How a redshift survey sees galaxy clusters.

    Parameters
    ----------
    name : str
        Label.
    redshift_range : tuple of float
        Smallest and largest cluster redshift (the mock's observers are placed
        at the matching comoving distances).
    flux_limit : float or None
        Faintest apparent r magnitude with a redshift (None: unknown; the
        mock's default, 18.0, is used).
    completeness : float
        Fraction of target galaxies with a redshift, fibre collisions apart (0-1].
    fibre_separation : float
        Smallest separation of two fibres [arcsec]; 0 for none.
    fibre_recovery : float
        Fraction of collided galaxies observed anyway (overlapping tiles).
    velocity_error : float
        Rms redshift error, as a velocity [km/s].
    footprint_radius : float or None
        How far from the centre the data reach [comoving h^-1 Mpc]; None if
        the survey covers the whole cylinder.

    Examples
    --------
    >>> from skcluster.survey import SDSS_MAIN
    >>> SDSS_MAIN.flux_limit, SDSS_MAIN.fibre_separation
    (17.77, 55.0)
    >>> kw = SDSS_MAIN.mock_kwargs()
    >>> kw["flux_limit"], round(kw["max_observer_distance"])
    (17.77, 571)
    """

    name: str
    redshift_range: tuple
    flux_limit: float = None
    completeness: float = 1.0
    fibre_separation: float = 0.0
    fibre_recovery: float = 0.0
    velocity_error: float = 0.0
    footprint_radius: float = None

    def __post_init__(self):
        lo, hi = (float(v) for v in self.redshift_range)
        if not 0 < lo < hi <= 1.0:
            raise ValueError(f"redshift_range must satisfy 0 < z_min < z_max <= 1; got {self.redshift_range}.")
        object.__setattr__(self, "redshift_range", (lo, hi))
        if not 0 < self.completeness <= 1:
            raise ValueError(f"completeness must be in (0, 1]; got {self.completeness}.")
        if not (self.fibre_separation >= 0 and 0 <= self.fibre_recovery <= 1 and self.velocity_error >= 0):
            raise ValueError("fibre_separation [arcsec] and velocity_error [km/s] must be >= 0 and fibre_recovery "
                             f"in [0, 1]; got {self.fibre_separation}, {self.velocity_error}, {self.fibre_recovery}.")
        if self.footprint_radius is not None and not self.footprint_radius > 0:
            raise ValueError(f"footprint_radius must be positive [h^-1 Mpc] or None; got {self.footprint_radius}.")

    def replace(self, **changes):
        """A copy with some fields changed (:func:`dataclasses.replace`)."""
        return dataclasses.replace(self, **changes)

    def mock_kwargs(self, cosmology="MDPL2"):
        """Keyword arguments of :func:`skcluster.datasets.make_sdss_mock_catalog` for this survey.

        The observers are placed at the comoving distances of the redshift
        range (at least 60 h^-1 Mpc, so the cylinder never reaches the observer).

        Returns
        -------
        kwargs : dict
            ``flux_limit``, ``min_observer_distance``, ``max_observer_distance`` [h^-1 Mpc].
        """
        from .cosmology import RedshiftTable

        table = RedshiftTable(cosmology, z_max=1.0)
        d_lo, d_hi = (float(d) for d in table.distance(np.array(self.redshift_range)))
        d_lo = max(d_lo, _MIN_OBSERVER_DISTANCE)
        d_hi = max(d_hi, d_lo + 10.0)
        kwargs = {"min_observer_distance": d_lo, "max_observer_distance": d_hi}
        if self.flux_limit is not None:
            kwargs["flux_limit"] = float(self.flux_limit)
        return kwargs

    def degrade(self, X, redshift, *, cosmology="MDPL2", random_state=None):
        """Apply the survey's fibre collisions, incompleteness, velocity errors and footprint to mock clusters.

        Parameters
        ----------
        X : list of ndarray of shape (n_galaxies, 3)
            Clusters (x_proj, y_proj [comoving h^-1 Mpc], v_los [km/s]).
        redshift : float or array-like of shape (n_clusters,)
            Cluster redshifts (for the fibres' angular separations).
        random_state : int, RandomState instance or None

        Returns
        -------
        X_new : list of ndarray
        """
        from sklearn.utils import check_random_state

        from .observe import (
            FibreCollisions,
            SpectroscopicIncompleteness,
            VelocityErrors,
        )

        rng = check_random_state(random_state)
        X = list(X)
        if not X:
            return X
        if self.fibre_separation > 0:
            X = list(FibreCollisions(self.fibre_separation, redshift=redshift, cosmology=cosmology,
                                     recovery=self.fibre_recovery, random_state=rng).fit_transform(X))
        if self.completeness < 1:
            X = list(SpectroscopicIncompleteness(self.completeness, random_state=rng).fit_transform(X))
        if self.velocity_error > 0:
            X = list(VelocityErrors(self.velocity_error, random_state=rng).fit_transform(X))
        if self.footprint_radius is not None:
            X = [c[np.hypot(c[:, 0], c[:, 1]) <= self.footprint_radius] for c in X]
        return X

    @classmethod
    def from_tables(cls, galaxies, clusters, *, base=None, name="inferred", cosmology="MDPL2", v_cut=V_CUT):
        """Infer a survey from a galaxy table and a cluster list.

        What the tables show is measured; what they cannot show (fibre
        collisions, completeness) is taken from ``base``.

        * ``redshift_range``: the clusters' smallest and largest redshift;
        * ``flux_limit``: the 99th percentile of an ``r`` (or ``mag_r``,
          ``petroMag_r``) column, if there is one;
        * ``velocity_error``: c times the median ``z_err`` (or ``zErr``), if there is one;
        * ``footprint_radius``: the median, over clusters, of the largest
          projected radius [comoving h^-1 Mpc] of galaxies within ``v_cut``
          of the cluster redshift, searched out to 6 h^-1 Mpc (500 clusters at most).

        Parameters
        ----------
        galaxies : astropy.table.Table
            Columns ``ra``, ``dec`` [deg], ``z`` (see :func:`skcluster.catalog.predict_catalog`).
        clusters : astropy.table.Table
            Columns ``ra``, ``dec``, ``z``.
        base : Survey or str, default=None
            Survey to take the rest from (default: ``SDSS_MAIN``).

        Returns
        -------
        survey : Survey

        Examples
        --------
        >>> from astropy.table import Table
        >>> from skcluster.survey import Survey
        >>> gal = Table({"ra": [150.0, 150.1], "dec": [2.0, 2.0], "z": [0.05, 0.051], "r": [16.0, 17.5]})
        >>> clu = Table({"name": ["a"], "ra": [150.0], "dec": [2.0], "z": [0.05]})
        >>> s = Survey.from_tables(gal, clu)
        >>> s.redshift_range[0] < 0.05 < s.redshift_range[1], round(s.flux_limit, 2)
        (True, 17.48)
        """
        from .catalog._tables import (
            as_cluster_table,
            as_galaxy_table,
            galaxy_neighbours,
        )

        base = get_survey(base if base is not None else "sdss")
        gal = as_galaxy_table(galaxies)
        clu = as_cluster_table(clusters)
        z = np.asarray(clu["z"], dtype=float)
        lo, hi = float(z.min()), float(z.max())
        pad = max(0.01 * hi, 1e-3)
        changes = {"name": name, "redshift_range": (max(lo - pad, 1e-3), min(hi + pad, 1.0))}
        for col in ("r", "mag_r", "petroMag_r"):
            if col in galaxies.colnames:
                mags = np.asarray(galaxies[col], dtype=float)
                changes["flux_limit"] = float(np.nanpercentile(mags, 99))
                break
        for col in ("z_err", "zerr", "zErr"):
            if col in galaxies.colnames:
                err = np.asarray(galaxies[col], dtype=float)
                if np.isfinite(err).any():
                    changes["velocity_error"] = float(SPEED_OF_LIGHT * np.nanmedian(err))
                break
        reach = []
        if len(clu.z) > 500:  # a fixed subset is enough for a median
            pick = np.random.default_rng(0).choice(len(clu.z), 500, replace=False)
            clu = type(clu)(**{k: v[pick] for k, v in clu.items()})
        for obs in galaxy_neighbours(gal, clu, radius=_MAX_REACH, v_cut=v_cut, cosmology=cosmology,
                                     progress=False):
            if len(obs.cluster):
                reach.append(np.hypot(obs.cluster[:, 0], obs.cluster[:, 1]).max())
        if reach:
            changes["footprint_radius"] = float(np.median(reach))
        return dataclasses.replace(base, **changes)


#: SDSS main galaxy sample: Petrosian r < 17.77 (Strauss et al. 2002, AJ 124, 1810); 55 arcsec fibre collisions
#: (Blanton et al. 2003, AJ 125, 2276), about 6% of targets unobserved in the main sample, more in clusters;
#: > 99% of observed targets get a redshift and the rms redshift error is ~30 km/s (Strauss et al. 2002).
#: Cluster redshifts 0.02-0.2 (the sample's median is z ~ 0.1).
SDSS_MAIN = Survey("sdss", (0.02, 0.2), flux_limit=17.77, completeness=0.99, fibre_separation=55.0,
                   fibre_recovery=0.0, velocity_error=30.0)

#: DESI Bright Galaxy Survey, BGS Bright: r < 19.5 (Hahn et al. 2023, AJ 165, 253); fibre assignment leaves
#: ~80% of BGS Bright targets with a spectrum over the full survey (ibid.; DESI's robotic positioners have no fixed
#: collision radius, modelled here as random incompleteness); redshift precision of order 10 km/s for BGS
#: (DESI Collaboration 2024, AJ 167, 62; an approximate value). Cluster redshifts 0.02-0.4.
DESI_BGS = Survey("desi_bgs", (0.02, 0.4), flux_limit=19.5, completeness=0.8, fibre_separation=0.0,
                  velocity_error=10.0)

#: Presets by name.
SURVEYS = {"sdss": SDSS_MAIN, "desi": DESI_BGS, "desi_bgs": DESI_BGS}


def get_survey(survey):
    """A :class:`~skcluster.survey.Survey` from a preset name (``"sdss"``, ``"desi"``) or a Survey.

    Examples
    --------
    >>> from skcluster.survey import get_survey
    >>> get_survey("desi").flux_limit
    19.5
    """
    if isinstance(survey, Survey):
        return survey
    if isinstance(survey, str) and survey.lower() in SURVEYS:
        return SURVEYS[survey.lower()]
    raise ValueError(f"Unknown survey {survey!r}; use one of {sorted(SURVEYS)} or a skcluster.survey.Survey.")
