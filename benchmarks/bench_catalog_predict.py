"""Benchmark: catalogue-scale prediction on a synthetic survey drawn from the mock.

A mock catalogue (``make_mock_catalog``) is built; ``CylinderCut -> SBICalibrator(MSigma)``
is fitted on its training sample. ``--n-clusters`` observations are drawn
(with replacement) from the held-out sample and put on the sky
(``skcluster.observe._sky_geometry.phase_space_to_sky``, the exact inverse of
``sky_to_phase_space``) at the points of a Fibonacci lattice (so no two
cylinders overlap), at redshifts uniform in [0.05, 0.3]; ``--background``
galaxies are spread uniformly over the sky at 0.35 < z < 0.8 (in the cones,
never in a cylinder). ``skcluster.catalog.predict_catalog`` then weighs every
cluster from the galaxy table alone.

Measured: wall time and clusters per second (neighbour search, projection,
model, domain-shift score), the process's peak resident memory, and the
recovery: residual scatter (std of predicted - true log10 M200c) on the sky
against that of the same clusters predicted directly from the mock, and the
largest per-cluster difference.

Usage (from the repository root)::

    python benchmarks/bench_catalog_predict.py --out benchmarks/results/catalog_predict.json
"""

import argparse
import os
import resource
import sys
import time

import numpy as np

from _results import command, machine, write_json


def _rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def fibonacci_sky(n):
    """RA, Dec [deg] of n roughly evenly spread points on the sphere."""
    i = np.arange(n)
    dec = np.rad2deg(np.arcsin(1 - 2 * (i + 0.5) / n))
    ra = np.rad2deg((i * np.pi * (3 - np.sqrt(5))) % (2 * np.pi))
    return ra, dec


def synthetic_survey(X, n_clusters, n_background, *, z_range=(0.05, 0.3), seed=0):
    from skcluster.cosmology import RedshiftTable
    from skcluster.observe._sky_geometry import (
        phase_space_to_sky,
        radec_to_unit,
        unit_to_radec,
    )

    rng = np.random.default_rng(seed)
    table = RedshiftTable()
    pick = rng.integers(0, len(X), n_clusters)
    ra_c, dec_c = fibonacci_sky(n_clusters)
    z_c = rng.uniform(*z_range, n_clusters)
    parts = [phase_space_to_sky(X[j], ra, dec, z, table=table) for j, ra, dec, z in zip(pick, ra_c, dec_c, z_c)]
    u = rng.normal(size=(n_background, 3))
    bra, bdec = unit_to_radec(u / np.linalg.norm(u, axis=1)[:, None])
    assert np.allclose(radec_to_unit(bra[:3], bdec[:3]), u[:3] / np.linalg.norm(u[:3], axis=1)[:, None])
    gal = {"ra": np.concatenate([p[0] for p in parts] + [bra]),
           "dec": np.concatenate([p[1] for p in parts] + [bdec]),
           "z": np.concatenate([p[2] for p in parts] + [rng.uniform(0.35, 0.8, n_background)])}
    clu = {"name": np.array([f"c{i:06d}" for i in range(n_clusters)]), "ra": ra_c, "dec": dec_c, "z": z_c}
    return gal, clu, pick


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-clusters", type=int, default=10_000)
    parser.add_argument("--background", type=int, default=700_000)
    parser.add_argument("--z-range", type=float, nargs=2, default=(0.05, 0.3),
                        help="cluster redshifts (the lattice spacing must exceed two apertures: use 0.15 0.3 "
                             "for 1e5 clusters)")
    parser.add_argument("--mock", choices=["tiny", "small"], default="small",
                        help="tiny: TINY_MOCK_PARAMS; small: one 400 h^-1 Mpc box")
    parser.add_argument("--out", default="benchmarks/results/catalog_predict.json")
    args = parser.parse_args(argv)

    from skcluster import CylinderCut, MSigma, SBICalibrator
    from skcluster.catalog import DomainShiftReference, predict_catalog
    from skcluster.datasets import TINY_MOCK_PARAMS, make_mock_catalog
    from skcluster.pipeline import make_pipeline

    t0 = time.perf_counter()
    params = dict(TINY_MOCK_PARAMS) if args.mock == "tiny" else {
        "n_realizations": 1, "box_size": 400.0, "cell_size": 4.0, "min_log_mass": 13.8, "test_fraction": 0.3}
    catalog = make_mock_catalog(**params, random_state=0)
    t_mock = time.perf_counter() - t0
    tr, te = catalog.train, catalog.test
    model = make_pipeline(CylinderCut(min_galaxies=None), SBICalibrator(MSigma(), cv=5))
    model.fit(list(tr.X), tr.y, sbicalibrator__groups=tr.groups)
    model.domain_reference_ = DomainShiftReference().fit(list(tr.X), model.predict(list(tr.X)))
    X = list(te.X)
    direct = np.asarray(model.predict(X))
    held_out_scatter = float(np.std(direct - te.y))

    gal, clu, pick = synthetic_survey(X, args.n_clusters, args.background, z_range=tuple(args.z_range))
    n_gal = len(gal["z"])
    rss_before = _rss_mb()
    t0 = time.perf_counter()
    out = predict_catalog(model, gal, clu, progress=False)
    wall = time.perf_counter() - t0
    rss_peak = _rss_mb()
    mass = np.asarray(out["log10_m200c"])
    resid = mass - te.y[pick]
    sky_scatter = float(np.nanstd(resid))
    max_diff = float(np.nanmax(np.abs(mass - direct[pick])))
    result = {
        "benchmark": "catalogue-scale prediction on a synthetic survey drawn from the mock",
        "command": command(__file__, argv=argv),
        "machine": machine(loadavg=list(os.getloadavg())),
        "mock": {"params": params, "n_train": len(tr.y), "n_test": len(te.y), "seconds": round(t_mock, 1)},
        "model": "CylinderCut(1.6, 2200) -> SBICalibrator(MSigma(), cv=5), DomainShiftReference(100 neighbours)",
        "n_clusters": args.n_clusters,
        "z_range": list(args.z_range),
        "n_galaxies": n_gal,
        "seconds": round(wall, 2),
        "clusters_per_second": round(args.n_clusters / wall, 1),
        "peak_rss_mb_before_predict": round(rss_before, 1),
        "peak_rss_mb": round(rss_peak, 1),
        "held_out_scatter_dex": round(held_out_scatter, 4),
        "sky_scatter_dex": round(sky_scatter, 4),
        "direct_scatter_same_draws_dex": round(float(np.std(direct[pick] - te.y[pick])), 4),
        "scatter_difference_dex": round(abs(sky_scatter - held_out_scatter), 4),
        "max_abs_mass_difference_dex": max_diff,
        "n_flagged": {f: int(sum(f in row for row in out["flags"])) for f in
                      ("outside_footprint", "too_few_galaxies", "partial_footprint", "atypical")},
        "n_nan_mass": int(np.isnan(mass).sum()),
    }
    print(write_json(args.out, result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
