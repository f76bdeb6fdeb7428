"""One simulated box of halos and galaxies, by either simulator, for the catalogue builders.

Shared by :func:`make_mock_catalog` and :func:`make_sdss_mock_catalog`: the
galaxy model (``hod``) is a parameter, the observer is applied afterwards by
:func:`assemble_catalog`. Positions comoving h^-1 Mpc, velocities km/s,
masses log10 M200c [h^-1 Msun].
"""

import numbers

import numpy as np

from ..simulate import make_halo_box, populate_halos, populate_snapshot, rank_matched_masses
from ..simulate import unresolved_galaxy_density
from ._cache import simulate_snapshot

__all__ = ["SIMULATORS", "check_nbody_params", "simulate_box"]

SIMULATORS = ("nbody", "lognormal")


def check_nbody_params(simulator, *, n_particles, mesh, n_steps, box_size):
    """Raise clear errors for impossible simulator settings; return the force mesh."""
    if simulator not in SIMULATORS:
        raise ValueError(f"simulator must be one of {SIMULATORS}; got {simulator!r}.")
    if simulator != "nbody":
        return None
    for name, value, least in (("n_particles", n_particles, 16), ("n_steps", n_steps, 1)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < least:
            raise ValueError(f"{name} must be an integer >= {least}; got {value!r}.")
    mesh = 2 * int(n_particles) if mesh is None else mesh
    if isinstance(mesh, bool) or not isinstance(mesh, numbers.Integral) or mesh < n_particles:
        raise ValueError(f"mesh must be an integer >= n_particles={n_particles}; got {mesh!r}.")
    if box_size / n_particles > 4.0:
        raise ValueError(f"box_size / n_particles = {box_size / n_particles:.2f} h^-1 Mpc per particle: halos of "
                         "10^14 h^-1 Msun would hold fewer than ~10 particles; use more particles or a smaller box.")
    return int(mesh)


def simulate_box(seed, model, hod, *, simulator, box_size, min_log_mass, anisotropy, velocity_bias, triaxial,
                 concentration_scatter, cell_size=2.0, halo_velocity_dispersion=150.0, workers=1, nbody=None):
    """One realisation: candidate halos (>= ``min_log_mass``) and all galaxies.

    ``seed`` is a :class:`numpy.random.SeedSequence`: it sets the initial
    conditions (N-body) or the halo field (log-normal) and every galaxy draw.
    ``nbody`` holds the keyword arguments of :func:`simulate_snapshot` except
    the cosmology, seed and redshift. Galaxies' ``host_id`` is the local
    candidate row, or -1 (field, or a halo below ``min_log_mass``).
    """
    rng = np.random.default_rng(seed)
    if simulator == "nbody":
        snap_seed = int(seed.generate_state(1)[0])
        snap = simulate_snapshot(model.colossus, redshift=model.redshift, seed=snap_seed, box_size=box_size,
                                 **nbody)
        log_mass = rank_matched_masses(snap["halos"]["n_members"], model, box_size**3)
        halos = {"log_mass": log_mass, "position": snap["halos"]["position"],
                 "velocity": snap["halos"]["velocity"]}
        resolved = float(log_mass[-1]) if len(log_mass) else 16.0
        field = unresolved_galaxy_density(hod, model, resolved)
        gal, halos = populate_snapshot(halos, snap["particles"], hod, model, box_size=box_size, rng=rng,
                                       field_density=field, anisotropy=anisotropy, velocity_bias=velocity_bias,
                                       triaxial=triaxial, concentration_scatter=concentration_scatter)
    else:
        halos = make_halo_box(model, box_size=box_size, rng=rng, cell_size=cell_size,
                              log_mass_min=min(hod.min_log_mass(), min_log_mass),
                              velocity_dispersion=halo_velocity_dispersion,
                              concentration_scatter=concentration_scatter, workers=workers)
        gal = populate_halos(halos, hod, model, box_size=box_size, rng=rng, anisotropy=anisotropy,
                             velocity_bias=velocity_bias, triaxial=triaxial)
    cand = np.flatnonzero(halos["log_mass"] >= min_log_mass)
    local = np.full(len(halos["log_mass"]) + 1, -1, dtype=np.int64)  # last entry: host -1 stays -1
    local[cand] = np.arange(len(cand))
    return {
        "halos": {"log_mass": halos["log_mass"][cand], "position": halos["position"][cand],
                  "velocity": halos["velocity"][cand], "concentration": halos["concentration"][cand]},
        "galaxies": {"position": gal["position"], "velocity": gal["velocity"], "host_id": local[gal["host"]],
                     **({"abs_mag": gal["abs_mag"]} if "abs_mag" in gal else {})},
    }
