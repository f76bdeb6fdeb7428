"""On-disk cache of simulated N-body boxes, under a data home like scikit-learn's.

Each box is one ``.npz`` file named by a hash of every parameter that changes
it (engine version, cosmology, box, particles, mesh, steps, redshift, seed,
halo finder, stored particle density), so a changed parameter never reads a
stale box. Positions comoving h^-1 Mpc, velocities km/s.
"""

import hashlib
import json
import os
from pathlib import Path

import numpy as np

__all__ = ["get_data_home", "clear_data_home", "simulate_snapshot"]

#: Bump when the engine's output for the same parameters changes.
ENGINE_VERSION = "pm-2lpt-kdk-fof/1"


def get_data_home(data_home=None):
    """The folder where skcluster keeps simulated boxes, created if missing.

    By default ``~/skcluster_data``; the environment variable
    ``SKCLUSTER_DATA`` or the ``data_home`` argument (which wins) change it.

    Parameters
    ----------
    data_home : str or path-like, default=None

    Returns
    -------
    path : str

    Examples
    --------
    >>> import tempfile
    >>> from skcluster.datasets import get_data_home
    >>> with tempfile.TemporaryDirectory() as d:
    ...     get_data_home(d) == d
    True
    """
    if data_home is None:
        data_home = os.environ.get("SKCLUSTER_DATA", os.path.join("~", "skcluster_data"))
    path = os.path.expanduser(os.fspath(data_home))
    os.makedirs(path, exist_ok=True)
    return path


def clear_data_home(data_home=None):
    """Delete the cached N-body boxes (``*.npz`` under ``<data_home>/nbody``)."""
    folder = Path(get_data_home(data_home)) / "nbody"
    if folder.is_dir():
        for f in folder.glob("*.npz"):
            f.unlink()


def _key(params):
    text = json.dumps({"engine": ENGINE_VERSION, **params}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def simulate_snapshot(colossus_cosmo, *, box_size, n_particles, mesh, n_steps, redshift, seed,
                      a_initial=0.1, linking_length=0.2, min_members=20, particle_density=0.05,
                      data_home=None, cache=True):
    """One N-body box reduced to FOF halos and a particle subsample, cached on disk.

    Parameters
    ----------
    colossus_cosmo : colossus.cosmology.cosmology.Cosmology
    box_size, n_particles, mesh, n_steps, redshift, seed, a_initial
        See :func:`skcluster.simulate.run_particle_mesh`.
    linking_length : float, default=0.2
        FOF linking length in units of the mean interparticle separation.
    min_members : int, default=20
        Least particles of a stored halo.
    particle_density : float, default=0.05
        Number density [h^3 Mpc^-3] of the stored random particle subsample
        (the reservoir of field galaxies), at most the particles'.
    data_home : str, default=None
        See :func:`get_data_home`.
    cache : bool, default=True
        Read and write the cache; False always simulates and writes nothing.

    Returns
    -------
    snapshot : dict
        ``halos``: ``n_members``, ``position`` [h^-1 Mpc], ``velocity``
        [km/s], sorted by decreasing size; ``particles``: ``position``,
        ``velocity`` (float32); ``particle_mass`` [h^-1 Msun]; ``cached``:
        whether it was read from disk; ``path``.
    """
    from ..simulate import friends_of_friends, run_particle_mesh
    from ..simulate._structure import RHO_CRIT0

    mesh = int(n_particles if mesh is None else mesh)
    params = {"Om0": float(colossus_cosmo.Om0), "Ob0": float(colossus_cosmo.Ob0),
              "H0": float(colossus_cosmo.H0), "sigma8": float(colossus_cosmo.sigma8),
              "ns": float(colossus_cosmo.ns), "box_size": float(box_size), "n_particles": int(n_particles),
              "mesh": mesh, "n_steps": int(n_steps), "redshift": round(float(redshift), 8),
              "seed": int(seed), "a_initial": float(a_initial), "linking_length": float(linking_length),
              "min_members": int(min_members), "particle_density": float(particle_density)}
    path = None
    if cache:
        path = Path(get_data_home(data_home)) / "nbody" / f"{_key(params)}.npz"
        if path.is_file():
            with np.load(path) as f:
                return _unpack(f, cached=True, path=str(path))
    pos, vel = run_particle_mesh(colossus_cosmo, box_size=box_size, n_particles=n_particles, redshift=redshift,
                                 seed=seed, mesh=mesh, n_steps=n_steps, a_initial=a_initial)
    groups = friends_of_friends(pos, box_size, linking_length=linking_length, min_members=min_members,
                                velocity=vel)
    n_total = len(pos)
    fraction = min(1.0, float(particle_density) * float(box_size) ** 3 / n_total)
    pick = np.flatnonzero(np.random.default_rng(int(seed)).random(n_total) < fraction)
    arrays = {"halo_n_members": groups["n_members"], "halo_position": groups["position"],
              "halo_velocity": groups["velocity"], "particle_position": pos[pick],
              "particle_velocity": vel[pick],
              "particle_mass": np.float64(RHO_CRIT0 * params["Om0"] * float(box_size) ** 3 / n_total),
              "params": np.array(json.dumps(params))}
    del pos, vel, groups
    if cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
        np.savez(tmp, **arrays)
        os.replace(tmp, path)
    return _unpack(arrays, cached=False, path=None if path is None else str(path))


def _unpack(f, *, cached, path):
    return {
        "halos": {"n_members": np.asarray(f["halo_n_members"]), "position": np.asarray(f["halo_position"]),
                  "velocity": np.asarray(f["halo_velocity"])},
        "particles": {"position": np.asarray(f["particle_position"]),
                      "velocity": np.asarray(f["particle_velocity"])},
        "particle_mass": float(f["particle_mass"]), "cached": cached, "path": path,
    }
