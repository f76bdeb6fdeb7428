"""Cluster observations from a periodic simulation box.

Positions are comoving h^-1 Mpc in a periodic box; velocities are peculiar
velocities in km/s.
"""

import numpy as np
from scipy.spatial import cKDTree

from ..constants import APERTURE, V_CUT
from ..cosmology import (
    RedshiftTable,
    hubble_velocity,
    redshift_from_velocity,
    relativistic_add,
    relativistic_subtract,
)
from ._los import line_of_sight_basis

__all__ = ["select_cylinders", "project_box"]


def _check_points(name, arr, n=None):
    arr = np.asarray(arr, dtype=float)
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise ValueError(f"{name} must have shape (n, 3); got {arr.shape}.")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name} has {arr.shape[0]} rows; expected {n} to match the positions.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf.")
    return arr


def project_box(offsets, galaxy_velocities, center_velocity, line_of_sight, *, redshift,
                table):
    """Project galaxies around one cluster onto (x_proj, y_proj, v_los).

    Parameters
    ----------
    offsets : ndarray of shape (n, 3)
        Minimum-image comoving offsets of the galaxies from the cluster centre [h^-1 Mpc].
    galaxy_velocities : ndarray of shape (n, 3)
        Peculiar velocities [km/s].
    center_velocity : ndarray of shape (3,)
        Peculiar velocity of the cluster [km/s].
    line_of_sight : ndarray of shape (3,)
        Direction from the observer through the cluster.
    redshift : float
        Cosmological redshift of the cluster centre.
    table : RedshiftTable
        Distance-redshift relation.

    Returns
    -------
    obs : ndarray of shape (n, 3)
        (x_proj [h^-1 Mpc], y_proj [h^-1 Mpc], v_los [km/s]). The galaxy's
        comoving distance is d_clu + r.z; its Hubble velocity follows from the
        inverted distance-redshift table; Hubble and peculiar velocities are
        combined relativistically, then taken relative to the cluster's.

    Examples
    --------
    >>> import numpy as np
    >>> from skcluster.observe import RedshiftTable, project_box
    >>> obs = project_box(np.array([[1.0, 0.5, 0.0]]), np.array([[0.0, 0.0, 300.0]]), np.zeros(3),
    ...                   np.array([0, 0, 1.0]), redshift=0.1, table=RedshiftTable())
    >>> obs[0, :2].tolist(), round(float(obs[0, 2]), 3)
    ([1.0, 0.5], 300.0)
    """
    x_hat, y_hat, z_hat = (b[0] for b in line_of_sight_basis(line_of_sight))
    d_clu = table.distance(redshift)
    r_par = offsets @ z_hat
    # a galaxy behind a nearby observer (d < 0) is clipped to d = 0: its v_los is then about
    # -v_H of the cluster, far outside any velocity cut
    z_gal = table.redshift(np.maximum(d_clu + r_par, 0.0))
    v_gal = relativistic_add(galaxy_velocities @ z_hat, hubble_velocity(z_gal))
    v_clu = relativistic_add(np.dot(center_velocity, z_hat), hubble_velocity(redshift))
    return np.column_stack([offsets @ x_hat, offsets @ y_hat, relativistic_subtract(v_gal, v_clu)])


def select_cylinders(galaxy_positions, galaxy_velocities, centers, center_velocities, lines_of_sight, *,
                     box_size, redshift, aperture=APERTURE, v_cut=V_CUT, cosmology="MDPL2"):
    """Observe clusters in a periodic box: every galaxy in each cylinder.

    One KD-tree (periodic) is built over the galaxies once; each cylinder is
    covered by a chain of overlapping spheres along its axis, so the search
    volume stays close to the cylinder's. Periodic faces are handled by the
    minimum image, which needs the cylinder's half-depth below half the box.

    Parameters
    ----------
    galaxy_positions : array-like of shape (n_galaxies, 3)
        Comoving positions [h^-1 Mpc] in the box [0, box_size).
    galaxy_velocities : array-like of shape (n_galaxies, 3)
        Peculiar velocities [km/s].
    centers : array-like of shape (n_obs, 3)
        Cluster centres [h^-1 Mpc], one per observation.
    center_velocities : array-like of shape (n_obs, 3)
        Cluster peculiar velocities [km/s].
    lines_of_sight : array-like of shape (n_obs, 3) or (3,)
        Line of sight of each observation (one direction for all if (3,)).
    box_size : float
        Side of the periodic box [h^-1 Mpc].
    redshift : float or array-like of shape (n_obs,)
        Cosmological redshift of each cluster centre (the snapshot redshift).
    aperture : float, default=1.6
        Cylinder radius [comoving h^-1 Mpc].
    v_cut : float, default=2200.0
        Cylinder half-depth in line-of-sight velocity [km/s].
    cosmology : str or astropy.cosmology.Cosmology, default="MDPL2"
        See :func:`skcluster.cosmology.get_cosmology`.

    Returns
    -------
    clusters : list of ndarray of shape (n_i, 3)
        (x_proj [h^-1 Mpc], y_proj [h^-1 Mpc], v_los [km/s]) of the galaxies with
        ``R_proj <= aperture`` and ``|v_los| <= v_cut``, ordered by galaxy index.
    indices : list of ndarray of int
        Row indices of those galaxies in ``galaxy_positions``.

    Examples
    --------
    >>> import numpy as np
    >>> from skcluster.observe import select_cylinders
    >>> gal = np.array([[0.5, 0.2, 250.0], [10.0, 10.0, 250.0], [0.3, 0.0, 252.0]])
    >>> clusters, idx = select_cylinders(gal, np.zeros((3, 3)), [[0.0, 0.0, 250.0]], [[0.0, 0.0, 0.0]],
    ...                                  [0, 0, 1], box_size=500.0, redshift=0.1)
    >>> idx[0].tolist()
    [0, 2]
    """
    gpos = _check_points("galaxy_positions", galaxy_positions)
    gvel = _check_points("galaxy_velocities", galaxy_velocities, len(gpos))
    cpos = _check_points("centers", centers)
    cvel = _check_points("center_velocities", center_velocities, len(cpos))
    n_obs = len(cpos)
    los = np.atleast_2d(np.asarray(lines_of_sight, dtype=float))
    if los.shape == (1, 3):
        los = np.repeat(los, n_obs, axis=0)
    los = _check_points("lines_of_sight", los, n_obs)
    z_clu = np.broadcast_to(np.asarray(redshift, dtype=float), (n_obs,))
    if not (box_size > 0 and aperture > 0 and v_cut > 0):
        raise ValueError(
            f"box_size, aperture and v_cut must be positive; got {box_size}, {aperture}, {v_cut}."
        )
    if np.any(z_clu < 0):
        raise ValueError("redshift must be non-negative.")
    gpos = np.mod(gpos, box_size)
    cpos = np.mod(cpos, box_size)

    table = RedshiftTable(cosmology, z_max=max(1.0, 2.0 * float(z_clu.max()) + 0.2))
    # Depth covering every galaxy that can reach |v_los| <= v_cut: Hubble offset of
    # v_cut plus the largest possible peculiar-velocity difference.
    v_pec_max = np.max(np.linalg.norm(gvel, axis=1), initial=0.0) + np.max(np.linalg.norm(cvel, axis=1))
    v_reach = v_cut + v_pec_max
    _, _, z_hat = line_of_sight_basis(los)
    tree = cKDTree(gpos, boxsize=box_size)
    step = 2.0 * aperture
    radius = np.sqrt(aperture**2 + (step / 2.0) ** 2) * (1.0 + 1e-9)

    clusters, indices = [], []
    for i in range(n_obs):
        v_h = hubble_velocity(z_clu[i])
        d_clu = table.distance(z_clu[i])
        far = table.distance(redshift_from_velocity(relativistic_add(v_h, v_reach))) - d_clu
        near = d_clu - table.distance(redshift_from_velocity(max(relativistic_subtract(v_h, v_reach), 0.0)))
        depth = max(far, near) + aperture
        if depth >= box_size / 2:
            raise ValueError(
                f"The cylinder reaches {depth:.1f} h^-1 Mpc along the line of sight (v_cut={v_cut} km/s plus "
                f"peculiar velocities up to {v_pec_max:.0f} km/s), more than half the box ({box_size} h^-1 Mpc); "
                "use a larger box or a smaller v_cut."
            )
        t = np.arange(-depth, depth + step, step)
        probes = np.mod(cpos[i] + t[:, None] * z_hat[i], box_size)
        found = tree.query_ball_point(probes, radius)
        cand = np.unique(np.concatenate([np.asarray(f, dtype=np.intp) for f in found]))
        offsets = gpos[cand] - cpos[i]
        offsets -= box_size * np.round(offsets / box_size)
        obs = project_box(offsets, gvel[cand], cvel[i], los[i], redshift=z_clu[i], table=table)
        keep = (np.hypot(obs[:, 0], obs[:, 1]) <= aperture) & (np.abs(obs[:, 2]) <= v_cut)
        clusters.append(obs[keep])
        indices.append(cand[keep])
    return clusters, indices
