"""Real cluster fields shipped with skcluster, and a reader for users' own fields.

Shipped data (third-party, see ``skcluster/datasets/data/README.md`` for sources
and licences): SDSS and DESI spectroscopic galaxies around Coma (Abell 1656)
and SDSS DR18 galaxies around Abell 2670; the redshift surveys of Abell 2029
(Sohn et al. 2019) and Abell 2744 (Owers et al. 2011).
"""

from importlib import resources

import numpy as np
from sklearn.utils import Bunch

from ..observe import sky_to_phase_space

__all__ = ["FIELDS", "load_field", "read_field"]

#: Shipped fields: file, centre (RA [deg], Dec [deg], z) and citation.
FIELDS = {
    "coma_desi": {
        "file": "desi_coma_field.csv",
        "center": (194.746077, 27.914923, 0.02325),
        "description": "DESI spectroscopic galaxies around Coma (Abell 1656); PSF and DUP rows and z < 0.002 dropped.",
        "source": "github.com/xiuyunMarx/mordern-astronomy-coma-cluster (desi-coma.csv); DESI public redshifts",
    },
    "a2670_sdss": {
        "file": "a2670_sdss_dr18_box.csv",
        "center": (358.5571, -10.4189, 0.0762),
        "description": "SDSS DR18 galaxies in a box around Abell 2670 (reaches ~1.7 h^-1 Mpc from the centre).",
        "source": "github.com/JacksonFergusonDev/Data-Science-Portfolio (MIT licence, (c) 2025 Jackson Ferguson)",
    },
    "coma_sdss": {
        "file": "coma_sdss_field.txt",
        "center": (194.9529, 27.9806, 0.0235),
        "description": "SDSS galaxies around Coma as projected radius and velocity only (no azimuth: y_proj = 0).",
        "source": "RCausticMass (github.com/Dailer/RCausticMass, MIT licence, (c) 2026 Dailer F. Morell)",
    },
    "a2029_sohn2019": {
        "file": "a2029_sohn2019_field.tsv",
        "center": (227.73375, 5.74472, 0.0773),
        "description": "Abell 2029 redshift survey (Hectospec + SDSS + literature) to 41 arcmin (3.6 Mpc physical, "
                       "~2.7 h^-1 Mpc comoving); infalling groups A2033 and SIG in the field. z < 0.002 and "
                       "duplicate rows dropped.",
        "source": "Sohn, Geller, Walker et al. 2019, ApJ 871, 129 (VizieR J/ApJ/871/129, table 1)",
    },
    "a2744_owers2011": {
        "file": "a2744_owers2011_field.tsv",
        "center": (3.58625, -30.38861, 0.308),
        "description": "Abell 2744 combined redshift catalogue to 15.4 arcmin (4.2 Mpc physical); a violent "
                       "multiple merger (dynamical masses expected biased). Stars (q_cz = 6) dropped.",
        "source": "Owers, Randall, Nulsen et al. 2011, ApJ 728, 27 (VizieR J/ApJ/728/27, table 5)",
    },
}

_RA_NAMES = ("ra", "mean_fiber_ra", "RA")
_DEC_NAMES = ("dec", "mean_fiber_dec", "DEC", "Dec")
_R_NAMES = ("R_proj", "r_proj", "dproj", "R")
_V_NAMES = ("v_los", "vlos", "v")


def _find(table, names):
    for name in names:
        if name in table.colnames:
            return name
    return None


def _numbers(table, name, path):
    """Column ``name`` as floats; an empty or non-numeric cell raises an error naming file, column, row."""
    col = table[name]
    mask = np.asarray(getattr(col, "mask", False), dtype=bool) & np.ones(len(col), dtype=bool)
    bad = None
    if mask.any():
        bad = int(np.flatnonzero(mask)[0]), "an empty cell"
    else:
        try:
            return np.asarray(col, dtype=float)
        except (TypeError, ValueError):
            for i, value in enumerate(np.asarray(col)):
                try:
                    float(value)
                except (TypeError, ValueError):
                    bad = i, repr(str(value))
                    break
    if bad is None:  # pragma: no cover - float() accepted every cell one by one
        raise ValueError(f"{path!r}: column {name!r} could not be read as numbers.")
    row, what = bad
    raise ValueError(
        f"{path!r}: column {name!r}, data row {row + 1} (not counting the header) holds {what}, "
        "not a number; fix or remove that row."
    )


def read_field(path, *, center=None, cosmology="MDPL2", radius_h=None, radius_physical=False):
    """Read a galaxy field into one cluster observation.

    Two layouts are understood:

    * sky positions: columns ``ra``, ``dec`` [deg] (also ``mean_fiber_ra``,
      ``mean_fiber_dec``) and ``z``; ``center`` = (RA [deg], Dec [deg], z) is
      required, and :func:`skcluster.observe.sky_to_phase_space` projects them;
    * projected radius and velocity: columns ``R_proj`` (or ``dproj``) and
      ``v_los`` (or ``vlos``) [km/s]. Radii are taken as comoving h^-1 Mpc
      unless ``radius_h`` is given (radii in Mpc computed with that h) and
      ``radius_physical`` (physical, converted with the centre's redshift).
      There is no azimuth, so ``x_proj = R`` and ``y_proj = 0``: use such fields
      with (R_proj, v_los) features only.

    Rows whose redshift is NaN are skipped; an empty cell or a value that is
    not a number in a column used raises a ValueError naming the file, the
    column and the row.

    Parameters
    ----------
    path : str or path-like
        CSV (comma separated, ``#`` comments) or whitespace-separated text with a header.
    center : tuple of float, default=None
        (RA [deg], Dec [deg], z) of the cluster centre; z is also needed for
        ``radius_physical``.
    cosmology : str or astropy.cosmology.Cosmology, default="MDPL2"
        Cosmology of the projection.
    radius_h : float, default=None
        The h used to compute radii given in Mpc; None if already in h^-1 Mpc.
    radius_physical : bool, default=False
        Whether radii are physical (proper) rather than comoving.

    Returns
    -------
    cluster : ndarray of shape (n_galaxies, 3)
        (x_proj [comoving h^-1 Mpc], y_proj [comoving h^-1 Mpc], v_los [km/s]).

    Examples
    --------
    >>> import os, tempfile
    >>> from skcluster.datasets import read_field
    >>> path = os.path.join(tempfile.mkdtemp(), "field.csv")
    >>> with open(path, "w") as f:
    ...     _ = f.write("ra,dec,z\\n194.95,27.98,0.0240\\n")
    >>> read_field(path, center=(194.95, 27.98, 0.0231)).shape
    (1, 3)
    """
    from astropy.table import Table

    path = str(path)
    fmt = "ascii.csv" if path.endswith(".csv") else "ascii.basic"
    try:
        table = Table.read(path, format=fmt, comment="#")
    except (OSError, ValueError) as exc:
        raise ValueError(f"Could not read the field {path!r} as {fmt}: {exc}") from exc
    ra, dec = _find(table, _RA_NAMES), _find(table, _DEC_NAMES)
    if ra and dec and "z" in table.colnames:
        if center is None:
            raise ValueError(
                f"{path!r} has sky positions; give the cluster centre as center=(RA [deg], Dec [deg], z)."
            )
        z = _numbers(table, "z", path)
        ok = np.isfinite(z)  # rows with a NaN redshift are skipped
        return sky_to_phase_space(_numbers(table, ra, path)[ok], _numbers(table, dec, path)[ok], z[ok],
                                  *center, cosmology=cosmology)
    rcol, vcol = _find(table, _R_NAMES), _find(table, _V_NAMES)
    if rcol and vcol:
        r = _numbers(table, rcol, path)
        if radius_h is not None:
            r = r * radius_h
        if radius_physical:
            if center is None:
                raise ValueError("radius_physical=True needs the cluster redshift: center=(RA, Dec, z).")
            r = r * (1.0 + center[2])
        return np.column_stack([r, np.zeros_like(r), _numbers(table, vcol, path)])
    raise ValueError(
        f"{path!r} has columns {table.colnames}; expected sky positions (ra, dec, z) or projected radius and "
        "velocity (R_proj, v_los)."
    )


def load_field(name, *, cosmology="MDPL2"):
    """Load one of the real cluster fields shipped with skcluster.

    Parameters
    ----------
    name : {"coma_desi", "a2670_sdss", "coma_sdss", "a2029_sohn2019", "a2744_owers2011"}
        Which field (see :data:`FIELDS`).
    cosmology : str or astropy.cosmology.Cosmology, default="MDPL2"
        Cosmology of the projection.

    Returns
    -------
    field : Bunch
        ``cluster`` (n_galaxies, 3) array (x_proj, y_proj [comoving h^-1 Mpc],
        v_los [km/s]) of the whole field (apply a CylinderCut before an
        estimator); ``center`` (RA [deg], Dec [deg], z); ``description``;
        ``source`` (cite it where you use the data).

    Examples
    --------
    >>> from skcluster.datasets import load_field
    >>> field = load_field("coma_desi")
    >>> field.cluster.shape[1], field.center[2]
    (3, 0.02325)
    """
    if name not in FIELDS:
        raise ValueError(f"Unknown field {name!r}; choose one of {sorted(FIELDS)}.")
    info = FIELDS[name]
    with resources.as_file(resources.files("skcluster.datasets") / "data" / info["file"]) as path:
        if name == "coma_desi":
            cluster = _load_desi(path, info["center"], cosmology)
        elif info["file"].endswith(".tsv"):
            from ._field_cleaning import load_redshift_survey

            cluster = load_redshift_survey(path, info["center"], cosmology)
        elif name == "coma_sdss":
            cluster = read_field(path, center=info["center"], radius_h=0.7, radius_physical=True)
        else:
            cluster = read_field(path, center=info["center"], cosmology=cosmology)
    return Bunch(cluster=cluster, center=info["center"], description=info["description"], source=info["source"])


def _load_desi(path, center, cosmology):
    from astropy.table import Table

    path = str(path)
    table = Table.read(path, format="ascii.csv")
    morph = np.asarray(table["morphtype"].filled("") if hasattr(table["morphtype"], "filled") else table["morphtype"],
                       dtype=str)
    z = _numbers(table, "z", path)
    keep = ~np.isin(morph, ["PSF", "DUP"]) & (z >= 0.002) & np.isfinite(z)
    return sky_to_phase_space(_numbers(table, "mean_fiber_ra", path)[keep],
                              _numbers(table, "mean_fiber_dec", path)[keep], z[keep], *center,
                              cosmology=cosmology)
