"""The observed-cluster data model and its single validation entry point.

One cluster observation is a float array of shape ``(n_galaxies, 3)`` with
columns ``(x_proj, y_proj, v_los)``: projected comoving positions in
h^-1 Mpc relative to the cluster centre and line-of-sight velocities in km/s
relative to the cluster. A data set ``X`` is a list (or a 1-D object array)
of such arrays, one per cluster; scikit-learn's Pipeline, GroupKFold,
cross_val_predict, GridSearchCV and joblib accept it as it is.

Every transformer and estimator of skcluster calls :func:`check_clusters`
first. It accepts, per cluster:

* a numeric array of shape ``(n_galaxies, 3)`` already in (h^-1 Mpc,
  h^-1 Mpc, km/s);
* an astropy ``Table``/``QTable`` (or any mapping of column names to arrays)
  with columns ``x_proj``, ``y_proj`` and ``v_los``; columns carrying astropy
  units are converted here, at the boundary.

Empty and one-galaxy clusters
-----------------------------
A cluster with zero galaxies is a valid ``(0, 3)`` array as far as the data
model goes (a cylinder cut can leave one empty), and so is a one-galaxy
cluster. Each step states the least number of galaxies it can work with
through ``min_galaxies``: :func:`check_clusters` raises a ``ValueError``
naming the cluster when one has fewer. For example a velocity dispersion
needs two galaxies; a kernel density image needs one.
"""

import numbers

import numpy as np
from sklearn.utils.validation import column_or_1d

from .constants import SPEED_OF_LIGHT

__all__ = [
    "COLUMNS",
    "MAX_ABS_POSITION",
    "SPEED_OF_LIGHT",
    "MAX_LOG_MASS",
    "check_clusters",
    "check_log_mass",
    "make_cluster_array",
    "n_galaxies",
]

#: Column names of one cluster observation, in order.
COLUMNS = ("x_proj", "y_proj", "v_los")

#: Largest projected offset [h^-1 Mpc] accepted from the centre of a cluster
#: observation; larger values almost always mean kpc or Mpc without h were
#: passed.
MAX_ABS_POSITION = 100.0

#: Largest log10 M200c [h^-1 Msun] accepted as a target; larger values almost
#: always mean linear masses (or natural logarithms) were passed.
MAX_LOG_MASS = 20.0

_UNIT_HINT = {
    "x_proj": "comoving h^-1 Mpc",
    "y_proj": "comoving h^-1 Mpc",
    "v_los": "km/s",
}


def _column_from_table(cluster, name, index):
    """One column of a table-like cluster, in skcluster units, as floats."""
    try:
        col = cluster[name]
    except (KeyError, ValueError, IndexError):
        cols = list(getattr(cluster, "colnames", None) or cluster.keys())
        raise ValueError(
            f"Cluster {index}: a table must have columns {COLUMNS}; got columns {cols}. "
            "Rename them, or pass an (n_galaxies, 3) array."
        ) from None
    unit = getattr(col, "unit", None)
    if unit is None:
        return np.asarray(col)
    from astropy import units as u
    from astropy.cosmology import units as cu

    quantity = u.Quantity(col)
    if name == "v_los":
        target = u.km / u.s
    else:
        target = u.Mpc / cu.littleh
    try:
        return quantity.to_value(target)
    except u.UnitConversionError:
        hint = ""
        if name != "v_los" and quantity.unit.physical_type == "length":
            hint = (
                " Positions without h must be converted explicitly, e.g. "
                "q.to(u.Mpc / cu.littleh, cu.with_H0(cosmo.H0)) with "
                "astropy.cosmology.units as cu."
            )
        raise ValueError(
            f"Cluster {index}: column {name!r} has unit {quantity.unit}, which cannot be "
            f"converted to {_UNIT_HINT[name]}.{hint}"
        ) from None


def _as_cluster(cluster, index):
    """Convert one cluster to a float64 (n_galaxies, 3) array, or raise."""
    is_table = hasattr(cluster, "colnames") or (
        hasattr(cluster, "keys") and not isinstance(cluster, np.ndarray)
    )
    if is_table:
        arr = np.column_stack([_column_from_table(cluster, name, index) for name in COLUMNS]) \
            if len(cluster) else np.empty((0, 3))
    else:
        if getattr(cluster, "unit", None) is not None:
            raise TypeError(
                f"Cluster {index} is a single astropy Quantity with unit {cluster.unit}; positions and "
                "velocities have different units. Pass an astropy Table with columns "
                f"{COLUMNS} (units are converted), or a plain array in (h^-1 Mpc, h^-1 Mpc, km/s)."
            )
        try:
            arr = np.asarray(cluster)
        except ValueError:  # ragged nested lists
            raise ValueError(
                f"Cluster {index} cannot be read as an (n_galaxies, 3) array: its rows have unequal "
                "lengths. Give every galaxy exactly 3 values (x_proj [h^-1 Mpc], y_proj [h^-1 Mpc], "
                "v_los [km/s])."
            ) from None
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
    ):
        raise TypeError(
            f"Cluster {index} has dtype {arr.dtype}; expected real numbers "
            "(x_proj [h^-1 Mpc], y_proj [h^-1 Mpc], v_los [km/s])."
        )
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise ValueError(
            f"Cluster {index} has shape {arr.shape}; expected (n_galaxies, 3) with columns "
            "(x_proj [h^-1 Mpc], y_proj [h^-1 Mpc], v_los [km/s])."
        )
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    bad = ~np.isfinite(arr)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ValueError(
            f"Cluster {index} has NaN or inf in column {COLUMNS[col]!r} (galaxy {row}); "
            "remove those galaxies before passing the cluster."
        )
    return arr


def _check_plausible(arr, index):
    if arr.shape[0] == 0:
        return
    vmax = np.max(np.abs(arr[:, 2]))
    if vmax >= SPEED_OF_LIGHT:
        raise ValueError(
            f"Cluster {index} has |v_los| = {vmax:.4g}, not below the speed of light; v_los must be "
            "in km/s relative to the cluster (did you pass m/s, or redshifts?)."
        )
    rmax = np.max(np.abs(arr[:, :2]))
    if rmax > MAX_ABS_POSITION:
        raise ValueError(
            f"Cluster {index} has a projected offset of {rmax:.4g}; positions must be in comoving "
            f"h^-1 Mpc relative to the centre, within {MAX_ABS_POSITION:g} (did you pass kpc, or "
            "absolute positions?)."
        )


def check_clusters(X, *, min_galaxies=0, allow_empty_set=False):
    """Validate a set of cluster observations and convert it to float arrays.

    Parameters
    ----------
    X : list or 1-D object array of array-like of shape (n_galaxies, 3)
        One entry per cluster, with columns ``x_proj`` [comoving h^-1 Mpc],
        ``y_proj`` [comoving h^-1 Mpc] and ``v_los`` [km/s], all relative to the
        cluster centre. An entry may also be an astropy Table (or mapping) with
        those column names; columns with units are converted. A 3-D float
        array of shape (n_clusters, n_galaxies, 3) is accepted as clusters of
        equal size.
    min_galaxies : int, default=0
        Least number of galaxies each cluster must hold for the calling step.
    allow_empty_set : bool, default=False
        Whether a set with no cluster at all is accepted.

    Returns
    -------
    clusters : list of ndarray of shape (n_galaxies, 3)
        C-contiguous float64 arrays in (h^-1 Mpc, h^-1 Mpc, km/s).

    Raises
    ------
    TypeError
        If ``X`` is not a collection of clusters, or a cluster has a
        non-numeric dtype or is a single Quantity of mixed meaning.
    ValueError
        If a cluster has the wrong shape, NaN or inf, implausible units, or
        fewer than ``min_galaxies`` galaxies. The message names the cluster.

    Examples
    --------
    >>> import numpy as np
    >>> from skcluster.validation import check_clusters
    >>> X = [np.array([[0.1, -0.2, 350.0], [0.5, 0.3, -120.0]])]
    >>> check_clusters(X, min_galaxies=2)[0].shape
    (2, 3)
    >>> check_clusters([np.zeros((1, 3))], min_galaxies=2)
    Traceback (most recent call last):
    ...
    ValueError: Cluster 0 has 1 galaxy; this step needs at least 2 per cluster. ...
    """
    if isinstance(X, (str, bytes, numbers.Number)) or X is None:
        raise TypeError(
            f"Expected a list of cluster observations, each an (n_galaxies, 3) array; got {type(X).__name__}."
        )
    if hasattr(X, "colnames"):
        raise TypeError(
            "Got a single astropy Table; X is a list of clusters. Wrap one cluster in a list: [table]."
        )
    if isinstance(X, np.ndarray) and X.dtype != object:
        if X.ndim == 3 and X.shape[2] != 3:
            raise ValueError(
                f"Got a 3-D array of shape {X.shape}; expected clusters of shape (n_clusters, "
                "n_galaxies, 3) or a list of (n_galaxies, 3) arrays. Images from PhaseSpaceKDE are "
                "the input of CNNRegressor or FlowRegressor, not of this step."
            )
        if X.ndim == 3:
            X = list(X)
        elif X.ndim == 2:
            raise TypeError(
                f"Got a single 2-D array of shape {X.shape}; X is a list of clusters, each "
                "(n_galaxies, 3). Wrap one cluster in a list: [cluster]."
            )
        else:
            raise ValueError(
                f"Got an array of shape {X.shape}; expected a list of (n_galaxies, 3) arrays "
                "or a 3-D array (n_clusters, n_galaxies, 3)."
            )
    elif isinstance(X, np.ndarray) and X.ndim != 1:
        raise ValueError(f"Expected a 1-D object array of clusters; got shape {X.shape}.")
    try:
        clusters = list(X)
    except TypeError:
        raise TypeError(
            f"Expected a list of cluster observations; got {type(X).__name__}, which is not iterable."
        ) from None
    if not clusters and not allow_empty_set:
        raise ValueError("Got an empty set of clusters; at least one cluster is needed.")
    out = []
    for index, cluster in enumerate(clusters):
        arr = _as_cluster(cluster, index)
        _check_plausible(arr, index)
        if arr.shape[0] < min_galaxies:
            noun = "galaxy" if arr.shape[0] == 1 else "galaxies"
            raise ValueError(
                f"Cluster {index} has {arr.shape[0]} {noun}; this step needs at least {min_galaxies} per "
                "cluster. Apply a richness cut (N_min) when building the catalogue, or drop the cluster."
            )
        out.append(arr)
    return out


def _stack_plain_arrays(X):
    """Concatenate ``X`` if it is plainly numeric (n_galaxies, 3) arrays; else None.

    No per-cluster checks beyond types: a list/tuple/object array of plain
    ndarrays of real dtype, or a 3-D real array.
    """
    if isinstance(X, np.ndarray):
        if type(X) is not np.ndarray:
            return None
        if X.dtype != object:
            if X.ndim != 3 or X.shape[2] != 3 or X.dtype.kind not in "fiu" or len(X) == 0:
                return None
            n, k = X.shape[:2]
            return np.ascontiguousarray(X, dtype=np.float64).reshape(n * k, 3), np.arange(n + 1) * k
        if X.ndim != 1:
            return None
    elif not isinstance(X, (list, tuple)):
        return None
    if len(X) == 0 or set(map(type, X)) != {np.ndarray}:
        return None
    if any(dtype.kind not in "fiu" for dtype in {c.dtype for c in X}):
        return None
    try:
        points = np.concatenate(X, axis=0, dtype=np.float64)
    except ValueError:  # mixed numbers of dimensions or columns
        return None
    if points.ndim != 2 or points.shape[1] != 3:
        return None
    offsets = np.zeros(len(X) + 1, dtype=np.intp)
    np.cumsum(np.fromiter(map(len, X), dtype=np.intp, count=len(X)), out=offsets[1:])
    return points, offsets


def check_cluster_stack(X, *, min_galaxies=0, allow_empty_set=False):
    """Validate clusters as :func:`check_clusters` does, returned concatenated.

    The checks run once over all galaxies instead of once per cluster (about
    20 times faster for a list of float arrays of ~60 galaxies); any other
    input, and any input that fails a check, goes through
    :func:`check_clusters`, so the errors are exactly its errors.

    Parameters
    ----------
    X : list or 1-D object array of array-like of shape (n_galaxies, 3)
        As for :func:`check_clusters`: columns ``x_proj`` [comoving
        h^-1 Mpc], ``y_proj`` [comoving h^-1 Mpc] and ``v_los`` [km/s].
    min_galaxies : int, default=0
        Least number of galaxies each cluster must hold for the calling step.
    allow_empty_set : bool, default=False
        Whether a set with no cluster at all is accepted.

    Returns
    -------
    galaxies : ndarray of float64 of shape (n_total, 3)
        All galaxies, cluster after cluster, C-contiguous, in (h^-1 Mpc,
        h^-1 Mpc, km/s).
    offsets : ndarray of int of shape (n_clusters + 1,)
        Cluster ``c`` is ``galaxies[offsets[c]:offsets[c + 1]]``.

    Raises
    ------
    TypeError, ValueError
        As :func:`check_clusters`.

    Examples
    --------
    >>> import numpy as np
    >>> from skcluster.validation import check_cluster_stack
    >>> galaxies, offsets = check_cluster_stack([np.zeros((2, 3)), np.ones((3, 3))])
    >>> galaxies.shape, offsets.tolist()
    ((5, 3), [0, 2, 5])
    """
    stacked = _stack_plain_arrays(X)
    if stacked is not None:
        points, offsets = stacked
        # NaN, inf and both unit checks at once: a NaN makes the maximum NaN; anything
        # not clearly inside the limits is left to check_clusters (column by column:
        # numpy is slow over the short rows of an (n, 3) array)
        limits = (MAX_ABS_POSITION, MAX_ABS_POSITION, SPEED_OF_LIGHT)
        plausible = points.size == 0 or all(
            bool(np.abs(points[:, k]).max() < limit) for k, limit in enumerate(limits))
        if plausible and np.diff(offsets).min() >= min_galaxies:
            return points, offsets
    clusters = check_clusters(X, min_galaxies=min_galaxies, allow_empty_set=allow_empty_set)
    offsets = np.zeros(len(clusters) + 1, dtype=np.intp)
    np.cumsum([len(c) for c in clusters], out=offsets[1:])
    points = np.concatenate(clusters) if clusters else np.empty((0, 3))
    return points, offsets


def check_log_mass(y, n_clusters=None):
    """Validate target masses: one finite log10 M200c [h^-1 Msun] per cluster.

    Parameters
    ----------
    y : array-like of shape (n_clusters,) or (n_clusters, 1)
        log10 M200c [h^-1 Msun].
    n_clusters : int or None, default=None
        Number of clusters in ``X``; ``y`` must hold as many values.

    Returns
    -------
    y : ndarray of float64 of shape (n_clusters,)

    Raises
    ------
    TypeError
        If ``y`` does not hold numbers.
    ValueError
        If ``y`` is not 1-D, has the wrong length, holds NaN or inf, or
        values above ``MAX_LOG_MASS`` (linear masses, not log10).

    Examples
    --------
    >>> from skcluster.validation import check_log_mass
    >>> check_log_mass([14.2, 15.0], n_clusters=2).tolist()
    [14.2, 15.0]
    >>> check_log_mass([3e14, 1e15])
    Traceback (most recent call last):
    ...
    ValueError: y has values up to 1e+15; y must be log10 M200c [h^-1 Msun] ...
    """
    if y is None:
        raise ValueError(
            "This estimator requires y to be passed, but the target y is None; pass one log10 M200c "
            "[h^-1 Msun] per cluster."
        )
    try:
        arr = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"y must hold numbers, one log10 M200c [h^-1 Msun] per cluster; got {type(y).__name__} "
            "whose values cannot be converted to floats."
        ) from None
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = column_or_1d(arr, warn=True)  # scikit-learn's DataConversionWarning for a column vector
    if arr.ndim != 1:
        raise ValueError(
            f"y must be 1-D of shape (n_clusters,), one log10 M200c [h^-1 Msun] per cluster; got "
            f"shape {arr.shape}."
        )
    if n_clusters is not None and arr.shape[0] != n_clusters:
        raise ValueError(
            f"X holds {n_clusters} clusters but y holds {arr.shape[0]} values; pass one log10 M200c "
            "[h^-1 Msun] per cluster."
        )
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ValueError(
            f"y contains NaN or inf (first at index {np.flatnonzero(bad)[0]}); y must be finite "
            "log10 M200c [h^-1 Msun]."
        )
    if arr.size and arr.max() > MAX_LOG_MASS:
        raise ValueError(
            f"y has values up to {arr.max():.3g}; y must be log10 M200c [h^-1 Msun] (about 13-16 for "
            f"clusters, at most {MAX_LOG_MASS:g}). Pass np.log10(M200c), not M200c or ln M200c."
        )
    return arr


def make_cluster_array(clusters):
    """Pack clusters into a 1-D object array (never a 3-D float array).

    Parameters
    ----------
    clusters : sequence of ndarray of shape (n_galaxies, 3)
        Cluster observations.

    Returns
    -------
    X : ndarray of object of shape (n_clusters,)
        ``X[i]`` is the i-th cluster; fancy indexing works as on any array.

    Examples
    --------
    >>> import numpy as np
    >>> from skcluster.validation import make_cluster_array
    >>> X = make_cluster_array([np.zeros((4, 3)), np.zeros((4, 3))])
    >>> X.shape, X[1].shape
    ((2,), (4, 3))
    """
    out = np.empty(len(clusters), dtype=object)
    for i, cluster in enumerate(clusters):
        out[i] = cluster
    return out


def n_galaxies(X):
    """Number of galaxies (richness) of each cluster.

    Parameters
    ----------
    X : list of array-like of shape (n_galaxies, 3)
        Cluster observations (see :func:`check_clusters`).

    Returns
    -------
    n : ndarray of int of shape (n_clusters,)

    Examples
    --------
    >>> import numpy as np
    >>> from skcluster.validation import n_galaxies
    >>> n_galaxies([np.zeros((5, 3)), np.zeros((0, 3))]).tolist()
    [5, 0]
    """
    return np.array([len(c) for c in check_clusters(X, allow_empty_set=True)], dtype=int)
