"""Halos in a periodic box: masses from the mass function, clustered positions, velocities.

Positions comoving h^-1 Mpc in [0, box_size), velocities peculiar km/s,
masses log10 M200c [h^-1 Msun].

Recipe (one realisation):

1. a Gaussian linear density field delta on a grid of cell ~2 h^-1 Mpc;
2. for each mass bin (0.25 dex), the field smoothed with a top hat on the
   bin's Lagrangian radius R_L = (3 M / 4 pi rho_m)^(1/3), then biased as a
   lognormal: weight ~ exp(b delta_R - b^2 sigma_R^2 / 2), with b the
   Tinker et al. (2010) bias. Smoothing first keeps massive halos from piling
   into the few highest cells of the raw field. All masses whose R_L is below
   the cell form one bin on the unsmoothed grid; once R_L spans several
   cells the smoothed field is sampled on a coarser grid (cell <= R_L);
3. a Poisson number of halos (mean = volume x mass function integral) placed
   in cells with probability proportional to the weight, uniformly inside the
   (fine) cell, masses drawn from the mass function within the bin;
4. velocities from linear theory, v_k = i f a H k delta_k / k^2, at the cell,
   plus a Gaussian nonlinear dispersion per component.
"""

import numpy as np

from ._field import LinearField, fft_friendly

__all__ = ["make_halo_box"]

_BLOCK = 4096


def _sample_cells(weights, n, rng):
    """Draw ``n`` cell indices with probability proportional to ``weights`` (1-D float32)."""
    n_cells = weights.size
    pad = (-n_cells) % _BLOCK
    w = np.concatenate([weights, np.zeros(pad, dtype=weights.dtype)]) if pad else weights
    w2 = w.reshape(-1, _BLOCK)
    block_sum = w2.sum(axis=1, dtype=np.float64)
    block_cum = np.cumsum(block_sum)
    u = np.sort(rng.random(n)) * block_cum[-1]  # sorted queries: fast searchsorted
    blk = np.minimum(np.searchsorted(block_cum, u, side="right"), len(block_cum) - 1)
    new_block = np.r_[True, blk[1:] != blk[:-1]]  # blk is sorted: unique blocks without sorting again
    ublk = blk[new_block]
    inv = np.cumsum(new_block) - 1
    rows = w2[ublk].astype(np.float64)
    flat_cum = np.cumsum(rows.ravel())
    row_start = np.concatenate([[0.0], np.cumsum(block_sum[ublk])[:-1]])
    resid = u - (block_cum[ublk] - block_sum[ublk])[inv]
    pos = np.searchsorted(flat_cum, row_start[inv] + resid, side="right")
    col = np.clip(pos - inv * _BLOCK, 0, _BLOCK - 1)
    cells = ublk[inv] * _BLOCK + col
    return np.minimum(cells, n_cells - 1)


def make_halo_box(model, *, box_size, rng, cell_size=2.0, n_grid=None, log_mass_min=11.0,
                  log_mass_max=None, bin_width=0.25, velocity_dispersion=150.0,
                  concentration_scatter=0.16, workers=1):
    """Draw one periodic box of clustered halos.

    Parameters
    ----------
    model : HaloModel
        Tabulated mass function, bias, concentration and power spectrum.
    box_size : float
        Side of the periodic box [comoving h^-1 Mpc].
    rng : numpy.random.Generator
        Random generator (all randomness of the box).
    cell_size : float, default=2.0
        Target grid cell [h^-1 Mpc]; the grid is rounded to an FFT-friendly size.
    n_grid : int, default=None
        Cells per side; overrides ``cell_size``.
    log_mass_min, log_mass_max : float
        Range of log10 M200c [h^-1 Msun] to populate (max defaults to the
        model's grid end).
    bin_width : float, default=0.25
        Width [dex] of the mass bins sharing one smoothing scale and bias.
    velocity_dispersion : float, default=150.0
        Nonlinear velocity dispersion per component [km/s] added to the
        linear velocities.
    concentration_scatter : float, default=0.16
        Lognormal scatter of c200c about the tabulated median [dex].
    workers : int, default=1
        Threads for the FFTs.

    Returns
    -------
    halos : dict of ndarray
        ``log_mass`` (n,), ``position`` (n, 3) [h^-1 Mpc], ``velocity`` (n, 3)
        [km/s], ``concentration`` (n,), ``r200c`` (n,) [physical h^-1 Mpc].

    Examples
    --------
    >>> import numpy as np
    >>> from skcluster.simulate import HaloModel, make_halo_box
    >>> hm = HaloModel()
    >>> halos = make_halo_box(hm, box_size=100.0, rng=np.random.default_rng(0), log_mass_min=13.0)
    >>> halos["position"].shape[1], bool((halos["log_mass"] >= 13.0).all())
    (3, True)
    """
    box_size = float(box_size)
    if not box_size > 0:
        raise ValueError(f"box_size must be positive [h^-1 Mpc]; got {box_size}.")
    if n_grid is None:
        if not cell_size > 0:
            raise ValueError(f"cell_size must be positive [h^-1 Mpc]; got {cell_size}.")
        n_grid = fft_friendly(int(np.ceil(box_size / cell_size)))
    if n_grid < 8:
        raise ValueError(f"n_grid must be at least 8; got {n_grid}.")
    hi = model.log_mass[-1] if log_mass_max is None else float(log_mass_max)
    if not log_mass_min < hi:
        raise ValueError(f"log_mass_min ({log_mass_min}) must be below log_mass_max ({hi}).")
    field = LinearField(model.power_spectrum, box_size, n_grid, rng, workers=workers)
    cell = field.cell
    volume = box_size**3
    factor = model.growth_rate * 100.0 * model.efunc / (1.0 + model.redshift)
    vel_grid = field.velocity(factor).reshape(3, -1)

    # Bins whose Lagrangian radius is below the cell share the grid-resolution
    # field: they are merged into one bin (their biases differ little).
    r_min_lm = float(np.log10(4.0 * np.pi * model.rho_mean * cell**3 / 3.0))
    edges = list(np.arange(max(log_mass_min, r_min_lm), hi, bin_width)) + [hi]
    if log_mass_min < r_min_lm:
        edges = [log_mass_min] + edges
    edges = np.unique(np.clip(edges, log_mass_min, hi))
    parts = {"log_mass": [], "cells": []}
    for lo, up in zip(edges[:-1], edges[1:]):
        expected = volume * model.number_density(lo, up)
        n = rng.poisson(expected)
        if n == 0:
            continue
        sel = (model.log_mass >= lo) & (model.log_mass <= up)
        weights_mf = model.dn_dlog10m[sel]
        b = float(np.average(model.bias[sel], weights=weights_mf))
        lm_mean = float(np.average(model.log_mass[sel], weights=weights_mf))
        radius = float(model.lagrangian_radius(lm_mean))
        # coarser sampling grid once the smoothing scale spans several cells
        coarsen = 1
        while coarsen < 8 and 2 * coarsen * cell <= radius and n_grid % (4 * coarsen) == 0:
            coarsen *= 2
        delta = field.smoothed(radius if radius > cell else 0.0, coarsen=coarsen).ravel()
        var = float(delta.var())
        w = np.exp(np.float32(b) * delta - np.float32(0.5 * b * b * var))
        del delta
        coarse = _sample_cells(w, n, rng)
        m = n_grid // coarsen
        ijk = np.column_stack(np.unravel_index(coarse, (m,) * 3)) * coarsen
        ijk += rng.integers(0, coarsen, size=ijk.shape)
        parts["cells"].append(np.ravel_multi_index(ijk.T, (n_grid,) * 3))
        parts["log_mass"].append(model.sample_masses(lo, up, len(coarse), rng))
    cells = np.concatenate(parts["cells"]) if parts["cells"] else np.zeros(0, dtype=np.int64)
    log_mass = np.concatenate(parts["log_mass"]) if parts["log_mass"] else np.zeros(0)
    ijk = np.column_stack(np.unravel_index(cells, (n_grid,) * 3))
    position = (ijk + rng.random((len(cells), 3))) * cell
    velocity = vel_grid[:, cells].T.astype(np.float64)
    velocity += rng.normal(0.0, velocity_dispersion, size=velocity.shape)
    conc = model.interp("concentration", log_mass) * 10.0 ** rng.normal(
        0.0, concentration_scatter, size=len(log_mass))
    return {
        "log_mass": log_mass,
        "position": np.mod(position, box_size),
        "velocity": velocity,
        "concentration": np.clip(conc, 1.0, 40.0),
        "r200c": model.r200c(log_mass),
    }
