"""Interloper removal for galaxy clusters: shifting gapper and iterative sigma clipping.

Each function takes one cluster, an array of shape (n_galaxies, 3) with
columns (x_proj [comoving h^-1 Mpc], y_proj [h^-1 Mpc], v_los [km/s]), and
returns a boolean mask of the galaxies kept as members.
"""

import numpy as np

__all__ = ["shifting_gapper", "sigma_clip_members", "remove_interlopers", "INTERLOPER_METHODS"]

#: Interloper-removal methods accepted by the estimators.
INTERLOPER_METHODS = ("gapper", "sigma_clip")


def _main_body(v, gap):
    """Mask of the velocity group (split at gaps > ``gap``) closest to v = 0."""
    order = np.argsort(v)
    vs = v[order]
    labels = np.concatenate(([0], np.cumsum(np.diff(vs) > gap)))
    # group holding the galaxy closest to the cluster's velocity (v_los = 0)
    centre_label = labels[np.argmin(np.abs(vs))]
    keep = np.zeros(len(v), dtype=bool)
    keep[order[labels == centre_label]] = True
    return keep


def shifting_gapper(cluster, *, gap=1000.0, bin_members=15, bin_width=0.4, max_iter=10):
    """Members by the shifting gapper (Fadda et al. 1996).

    Galaxies are binned in projected radius (bins hold at least
    ``bin_members`` galaxies and span at least ``bin_width``); within each
    bin, velocities are sorted and split at gaps wider than ``gap``; the
    group containing the galaxy nearest v_los = 0 is kept. Repeated until
    nothing more is removed.

    Parameters
    ----------
    cluster : ndarray of shape (n_galaxies, 3)
        (x_proj [h^-1 Mpc], y_proj [h^-1 Mpc], v_los [km/s]).
    gap : float, default=1000.0
        Velocity gap [km/s] that separates interlopers from the main body.
    bin_members : int, default=15
        Least number of galaxies per radial bin.
    bin_width : float, default=0.4
        Least radial width of a bin [comoving h^-1 Mpc].
    max_iter : int, default=10
        Largest number of iterations.

    Returns
    -------
    members : ndarray of bool of shape (n_galaxies,)

    Examples
    --------
    >>> import numpy as np
    >>> from skcluster.estimators import shifting_gapper
    >>> v = np.array([-400.0, -200.0, 0.0, 150.0, 300.0, 2100.0])
    >>> cluster = np.column_stack([np.full(6, 0.3), np.zeros(6), v])
    >>> shifting_gapper(cluster).tolist()
    [True, True, True, True, True, False]
    """
    cluster = np.asarray(cluster, dtype=float)
    radius = np.hypot(cluster[:, 0], cluster[:, 1])
    v = cluster[:, 2]
    members = np.ones(len(v), dtype=bool)
    for _ in range(max_iter):
        idx = np.flatnonzero(members)
        order = idx[np.argsort(radius[idx])]
        new = members.copy()
        start = 0
        while start < len(order):
            stop = min(start + bin_members, len(order))
            while stop < len(order) and radius[order[stop - 1]] - radius[order[start]] < bin_width:
                stop += 1
            if len(order) - stop < bin_members:  # fold a short last bin into this one
                stop = len(order)
            sel = order[start:stop]
            new[sel] = _main_body(v[sel], gap)
            start = stop
        if new.sum() == members.sum():
            break
        members = new
    return members


def sigma_clip_members(cluster, *, n_sigma=3.0, max_iter=10):
    """Members by iterative sigma clipping of v_los about the median.

    Galaxies with abs(v_los - median) > ``n_sigma`` x (unbiased standard
    deviation of the current members) are removed until none is.

    Parameters
    ----------
    cluster : ndarray of shape (n_galaxies, 3)
        (x_proj [h^-1 Mpc], y_proj [h^-1 Mpc], v_los [km/s]).
    n_sigma : float, default=3.0
        Clipping threshold in standard deviations.
    max_iter : int, default=10
        Largest number of iterations.

    Returns
    -------
    members : ndarray of bool of shape (n_galaxies,)

    Examples
    --------
    >>> import numpy as np
    >>> from skcluster.estimators import sigma_clip_members
    >>> v = np.r_[np.linspace(-300.0, 300.0, 20), 2000.0]
    >>> cluster = np.column_stack([np.zeros(21), np.zeros(21), v])
    >>> int(sigma_clip_members(cluster).sum())
    20
    """
    v = np.asarray(cluster, dtype=float)[:, 2]
    members = np.ones(len(v), dtype=bool)
    for _ in range(max_iter):
        if members.sum() < 3:
            break
        vm = v[members]
        new = np.abs(v - np.median(vm)) <= n_sigma * np.std(vm, ddof=1)
        new &= members
        if new.sum() == members.sum():
            break
        members = new
    return members


def remove_interlopers(cluster, method, *, min_members=2):
    """Apply an interloper-removal ``method`` to one cluster; keep all if too few survive.

    Parameters
    ----------
    cluster : ndarray of shape (n_galaxies, 3)
        (x_proj [h^-1 Mpc], y_proj [h^-1 Mpc], v_los [km/s]).
    method : {"gapper", "sigma_clip"} or None
        :func:`shifting_gapper`, :func:`sigma_clip_members`, or no removal.
    min_members : int, default=2
        If fewer galaxies survive, the removal is undone.

    Returns
    -------
    members : ndarray of shape (n_members, 3)
        The galaxies kept.
    undone : bool
        Whether the removal was undone because too few galaxies survived.

    Examples
    --------
    >>> import numpy as np
    >>> from skcluster.estimators import remove_interlopers
    >>> v = np.r_[np.linspace(-300.0, 300.0, 20), 2000.0]
    >>> cluster = np.column_stack([np.zeros(21), np.zeros(21), v])
    >>> members, undone = remove_interlopers(cluster, "sigma_clip")
    >>> members.shape, undone
    ((20, 3), False)
    """
    if method is None:
        return cluster, False
    if method == "gapper":
        mask = shifting_gapper(cluster)
    elif method == "sigma_clip":
        mask = sigma_clip_members(cluster)
    else:
        raise ValueError(f"interlopers must be None or one of {INTERLOPER_METHODS}; got {method!r}.")
    if mask.sum() < min_members:
        return cluster, True
    return cluster[mask], False
