"""Galaxy and cluster tables: reading, column names, and the neighbour search on the sphere.

Sky positions in degrees, distances comoving h^-1 Mpc, velocities km/s.
"""

import numpy as np
from scipy.spatial import cKDTree
from sklearn.utils import Bunch

from ..constants import APERTURE, V_CUT
from ..cosmology import RedshiftTable, hubble_velocity, relativistic_subtract
from ..observe._sky_geometry import radec_to_unit, sky_basis, sky_offsets

__all__ = [
    "COVERAGE_CELLS",
    "COVERAGE_MIN_GALAXIES",
    "as_cluster_table",
    "as_galaxy_table",
    "galaxy_neighbours",
    "read_table",
]

_ALIASES = {
    "ra": ("ra", "RA", "ra_deg", "RAdeg", "mean_fiber_ra", "TARGET_RA"),
    "dec": ("dec", "DEC", "Dec", "dec_deg", "DEdeg", "mean_fiber_dec", "TARGET_DEC"),
    "z": ("z", "Z", "redshift", "zspec", "z_spec"),
    "name": ("name", "NAME", "Name", "cluster", "id", "ID"),
}
#: Equal-area cells (2 rings x 8 sectors) of the aperture disc used to measure footprint coverage.
COVERAGE_CELLS = (2, 8)
#: Fewest foreground/background galaxies in the cone for a coverage estimate (the members are concentrated).
COVERAGE_MIN_GALAXIES = 20


def read_table(source, *, what="table"):
    """An astropy Table from a Table, a path (CSV, FITS, ECSV, Parquet: astropy's readers) or a mapping.

    Examples
    --------
    >>> from skcluster.catalog import read_table
    >>> read_table({"ra": [1.0], "dec": [2.0], "z": [0.1]}).colnames
    ['ra', 'dec', 'z']
    """
    from astropy.table import Table

    if isinstance(source, Table):
        return source
    if isinstance(source, dict):
        return Table(source)
    path = str(source)
    kwargs = {}
    if path.endswith((".csv", ".txt", ".dat", ".tsv")):
        kwargs = {"format": "ascii.tab" if path.endswith(".tsv") else
                  "ascii.csv" if path.endswith(".csv") else "ascii.basic", "comment": "#"}
    try:
        return Table.read(path, **kwargs)
    except FileNotFoundError:
        raise FileNotFoundError(f"No {what} file {path!r}.") from None
    except ImportError as exc:
        raise ImportError(f"Reading the {what} {path!r} needs an optional package: {exc}") from exc
    except Exception as exc:  # astropy raises many types for unreadable files
        raise ValueError(f"Could not read the {what} {path!r} (CSV, FITS, ECSV, Parquet, ...): {exc}") from exc


def _column(table, key, what):
    for name in _ALIASES[key]:
        if name in table.colnames:
            return name
    raise ValueError(f"The {what} table has no {key!r} column (columns: {table.colnames}); expected one of "
                     f"{list(_ALIASES[key])}. Rename the column, e.g. table.rename_column('MYRA', 'ra').")


def _floats(table, col, what):
    data = table[col]
    if hasattr(data, "filled"):
        data = data.filled(np.nan)
    try:
        return np.asarray(data, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"Column {col!r} of the {what} table must be numeric.") from None


def as_galaxy_table(galaxies):
    """Bunch of float arrays ``ra``, ``dec`` [deg], ``z`` from a galaxy table; rows with NaN are dropped.

    Raises a ValueError naming what is missing.
    """
    table = read_table(galaxies, what="galaxy")
    ra, dec, z = (_floats(table, _column(table, k, "galaxy"), "galaxy") for k in ("ra", "dec", "z"))
    ok = np.isfinite(ra) & np.isfinite(dec) & np.isfinite(z)
    if not ok.any():
        raise ValueError("The galaxy table has no row with finite ra, dec and z.")
    if np.any(np.abs(dec[ok]) > 90):
        raise ValueError("Galaxy dec must lie in [-90, 90] degrees; are ra and dec swapped or in radians?")
    return Bunch(ra=ra[ok], dec=dec[ok], z=z[ok], n_dropped=int((~ok).sum()))


def as_cluster_table(clusters):
    """Bunch ``name`` (str), ``ra``, ``dec`` [deg], ``z`` from a cluster table; raises on bad input.

    Duplicate names, missing columns, non-finite values and non-positive
    redshifts are errors (one bad row would otherwise give a silently wrong row).
    """
    table = read_table(clusters, what="cluster")
    if len(table) == 0:
        raise ValueError("The cluster table is empty.")
    name_col = _column(table, "name", "cluster")
    names = np.asarray([str(v) for v in table[name_col]])
    uniq, counts = np.unique(names, return_counts=True)
    if np.any(counts > 1):
        raise ValueError(f"Cluster names must be unique; repeated: {uniq[counts > 1][:5].tolist()}.")
    ra, dec, z = (_floats(table, _column(table, k, "cluster"), "cluster") for k in ("ra", "dec", "z"))
    bad = ~(np.isfinite(ra) & np.isfinite(dec) & np.isfinite(z))
    if bad.any():
        raise ValueError(f"Clusters {names[bad][:5].tolist()} have a missing or non-finite ra, dec or z.")
    if np.any(z <= 0) or np.any(np.abs(dec) > 90):
        bad = (z <= 0) | (np.abs(dec) > 90)
        raise ValueError(f"Clusters {names[bad][:5].tolist()} have z <= 0 or |dec| > 90 deg.")
    return Bunch(name=names, ra=ra, dec=dec, z=z)


def _coverage(x, y, aperture):
    """Fraction of the aperture disc inside the footprint, from which equal-area cells hold a galaxy.

    n galaxies spread uniformly over k cells occupy k [1 - (1 - 1/k)^n] of
    them on average; the number of covered cells k is solved from the
    observed occupancy (so a sparse cone is not mistaken for a partial one).
    """
    n_ring, n_sector = COVERAGE_CELLS
    total = n_ring * n_sector
    r = np.hypot(x, y) / aperture
    inside = r <= 1.0
    n = int(inside.sum())
    if n == 0:
        return 0.0
    ring = np.minimum((r[inside] ** 2 * n_ring).astype(int), n_ring - 1)
    sector = ((np.arctan2(y[inside], x[inside]) + np.pi) / (2 * np.pi) * n_sector).astype(int) % n_sector
    occupied = np.unique(ring * n_sector + sector).size
    k = np.linspace(occupied, total, 1 + 20 * (total - occupied))
    expected = k * (1.0 - (1.0 - 1.0 / np.maximum(k, 1.0)) ** n)
    reach = k[expected <= occupied + 1e-12]
    return float(min(1.0, reach.max() / total))


def galaxy_neighbours(galaxies, clusters, *, radius=APERTURE, v_cut=V_CUT, cosmology="MDPL2", chunk_size=4096,
                      progress=True, tree=None):
    """Yield, cluster by cluster, the galaxies within ``radius`` and ``v_cut`` of it.

    One KD-tree on the galaxies' unit vectors is built once; the clusters are
    searched ``chunk_size`` at a time, so memory is bounded by one chunk's
    neighbour lists. Positions are projected as
    :func:`skcluster.observe.sky_to_phase_space` does (angle times the
    comoving distance of the cluster's redshift) and velocities are relative
    relativistic velocities (the mock's convention).

    Parameters
    ----------
    galaxies, clusters : Bunch
        From ``as_galaxy_table`` and ``as_cluster_table`` (or tables).
    radius : float, default=1.6
        Projected radius [comoving h^-1 Mpc].
    v_cut : float, default=2200.0
        Half-depth [km/s].
    cosmology : str or astropy.cosmology.Cosmology, default="MDPL2"
    chunk_size : int, default=4096
    progress : bool, default=True
        tqdm progress bar over clusters.
    tree : cKDTree, default=None
        A tree already built on the galaxies' unit vectors.

    Yields
    ------
    obs : Bunch
        ``cluster`` (n, 3) array (x_proj, y_proj [h^-1 Mpc], v_los [km/s]),
        ``n_cone`` (galaxies at any redshift within ``radius``),
        ``coverage`` (fraction of the disc's 16 equal-area cells holding a
        foreground or background galaxy of the cone, ``abs(v_los) > v_cut``,
        over the fraction expected for a full disc with as many uniformly
        spread galaxies: an estimate of the footprint's coverage; NaN when
        fewer than ``COVERAGE_MIN_GALAXIES`` such galaxies make it unmeasurable) and ``reach`` (largest
        projected radius of a cone galaxy [h^-1 Mpc]).

    Examples
    --------
    >>> from skcluster.catalog import galaxy_neighbours
    >>> gal = {"ra": [150.0, 150.01, 160.0], "dec": [2.0, 2.0, 2.0], "z": [0.05, 0.0505, 0.05]}
    >>> clu = {"name": ["a"], "ra": [150.0], "dec": [2.0], "z": [0.05]}
    >>> [len(o.cluster) for o in galaxy_neighbours(gal, clu, progress=False)]
    [2]
    """
    gal = galaxies if isinstance(galaxies, Bunch) else as_galaxy_table(galaxies)
    clu = clusters if isinstance(clusters, Bunch) else as_cluster_table(clusters)
    z_max = max(1.0, 1.05 * float(np.max(clu.z)))
    table = RedshiftTable(cosmology, z_max=z_max)
    unit = radec_to_unit(gal.ra, gal.dec)
    if tree is None:
        tree = cKDTree(unit)
    v_gal = hubble_velocity(gal.z)
    n = len(clu.z)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n, desc="clusters", unit="cl")
    for start in range(0, n, int(chunk_size)):
        sl = slice(start, min(start + int(chunk_size), n))
        dist = table.distance(clu.z[sl])
        theta = np.minimum(radius / dist, np.pi)
        chord = 2.0 * np.sin(theta / 2.0) * (1 + 1e-12)
        east, north, radial = sky_basis(clu.ra[sl], clu.dec[sl])
        found = tree.query_ball_point(radial, chord)
        v_clu = hubble_velocity(clu.z[sl])
        for i, idx in enumerate(found):
            idx = np.asarray(idx, dtype=np.intp)
            x, y = sky_offsets(unit[idx], east[i], north[i], radial[i], dist[i])
            v = relativistic_subtract(v_gal[idx], v_clu[i])
            r = np.hypot(x, y)
            cone = r <= radius
            keep = cone & (np.abs(v) <= v_cut)
            field = cone & ~keep
            coverage = (_coverage(x[field], y[field], radius) if field.sum() >= COVERAGE_MIN_GALAXIES
                        else 0.0 if not cone.any() else np.nan)
            yield Bunch(cluster=np.column_stack([x[keep], y[keep], v[keep]]), n_cone=int(cone.sum()),
                        coverage=coverage,
                        reach=float(r[cone].max()) if cone.any() else 0.0)
        if bar is not None:
            bar.update(sl.stop - sl.start)
    if bar is not None:
        bar.close()
