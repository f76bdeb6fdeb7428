"""Validate and time the N-body simulator behind the default mock catalogue (issue 17).

Builds the default catalogue (``make_mock_catalog(random_state=0)``: 4 boxes of
500 h^-1 Mpc, 256^3 particles, mesh 512, 10 steps) into an empty data home,
timing it and sampling the peak summed RSS of the process tree; rebuilds it from
the cached boxes; then measures, on the cached boxes and the catalogue:

* P(k) of the stored particle subsample at the snapshot against halofit
  (Takahashi et al. 2012, computed here from colossus' linear P(k) and sigma(R))
  for 0.07 <= k <= 0.3 h Mpc^-1;
* FOF halo counts (particle mass x members) above 10^14 against Watson et al. 2013
  (FOF) per 0.25 dex (the catalogue's M200c are rank-matched to Tinker08 by
  construction);
* the correlation of >= 10^14 halos at 4-10 h^-1 Mpc against b^2 xi_lin
  (Tinker et al. 2010 bias), and the closest pair of >= 10^14 halos in units
  of the sum of their comoving R200c;
* the mean peculiar radial velocity of the galaxies surrounding >= 10^14.7 and
  10^14.1-14.3 clusters (other halos' members and field galaxies; per cluster,
  then over clusters) in comoving shells 1-2, 2-3, 3-5 and 2-5 h^-1 Mpc, with
  the ratio of the two bins; the same with the cluster's own members kept; the
  earlier particle-stacked number; galaxies between R200c and 2 R200c;
* Evrard et al. (2008) for the true members; median true richness at the test
  sample's median mass; the M-sigma slope and test scatter, pure and contaminated.

The measurements live in ``_nbody_checks.py`` (shared with
``plot_simulator_validation.py``). Run from the repository root (about 15
minutes on 2 cores; the data home is emptied first unless ``--keep-cache``)::

    python benchmarks/bench_nbody.py --data-home /tmp/skcluster_bench --out benchmarks/results/nbody.json

``--keep-cache`` measures boxes already simulated (no first-build timing), and
raises rather than start an N-body run; ``--mesh`` selects the boxes' force mesh
(default: the package's).
"""

import argparse
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _nbody_checks as checks  # noqa: E402
from _results import command, machine, write_json  # noqa: E402
from bench_simulate import PeakMemory  # noqa: E402

from skcluster.datasets import TINY_MOCK_PARAMS  # noqa: E402


def build(data_home, mesh, n_jobs, params):
    with PeakMemory() as mem:
        t0 = time.perf_counter()
        cat = checks.build_catalog(data_home, mesh, n_jobs, **params)
        seconds = time.perf_counter() - t0
    return cat, {"seconds": seconds, "peak_rss_mb": mem.peak, "cpu_seconds": mem.cpu_seconds,
                 "load_after": os.getloadavg()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-home", required=True,
                    help="emptied first (unless --keep-cache), so the first build simulates")
    ap.add_argument("--mesh", type=int, default=None,
                    help="N-body force mesh per side (default: the package's)")
    ap.add_argument("--n-jobs", type=int, default=1)
    ap.add_argument("--keep-cache", action="store_true",
                    help="measure the cached boxes: no emptying, no first-build timing, and an error "
                         "instead of an N-body run")
    ap.add_argument("--n-realizations", type=int, default=None, help="fewer boxes than the default 4")
    ap.add_argument("--tiny", action="store_true", help="TINY_MOCK_PARAMS (a smoke run, not a validation)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    params = dict(TINY_MOCK_PARAMS, min_log_mass=13.5) if args.tiny else {}
    if args.tiny and args.mesh is None:
        args.mesh = params.pop("mesh")
    params.pop("mesh", None)
    if args.n_realizations:
        params["n_realizations"] = args.n_realizations
    res = {"command": command(__file__), "machine": machine(), "load_before": os.getloadavg()}
    if args.keep_cache:
        checks.forbid_simulation()
        res["first_build"] = None
    else:
        if os.path.isdir(args.data_home):
            shutil.rmtree(args.data_home)
        cat, res["first_build"] = build(args.data_home, args.mesh, args.n_jobs, params)
        print("first build", res["first_build"], flush=True)
    cat, res["rebuild"] = build(args.data_home, args.mesh, args.n_jobs, params)
    print("rebuild", res["rebuild"], flush=True)
    res["mesh"] = cat.params["mesh"]
    model, snaps, boxes = checks.load_boxes(cat, args.data_home)
    box = cat.params["box_size"]

    pk = checks.power_spectrum(snaps, model, box, cat.params["n_particles"])
    sel = (pk["k"] >= 0.07) & (pk["k"] <= 0.3)
    res["pk_over_halofit"] = {"k": pk["k"][sel], "ratio": pk["ratio"][sel],
                              "max_abs_deviation": float(max(abs(pk["ratio"][sel] - 1)))}
    print("P(k)/halofit", checks.jsonable(res["pk_over_halofit"]), flush=True)

    mf = checks.mass_functions(snaps, model, box)
    res["fof_mass_function"] = {"edges": mf["edges"], "counts": mf["fof"]["counts"],
                                "watson13": mf["fof"]["expected"], "ratio": mf["fof"]["ratio"],
                                "poisson_error": mf["fof"]["poisson_error"]}
    res["m200c_mass_function"] = {"counts": mf["m200c"]["counts"], "tinker08": mf["m200c"]["expected"],
                                  "ratio": mf["m200c"]["ratio"]}
    print("FOF HMF", checks.jsonable(res["fof_mass_function"]), flush=True)

    hc = checks.halo_clustering(snaps, model, box)
    res["halo_clustering"] = {k: hc[k] for k in ("r", "xi", "b2_xi_lin", "ratio", "mean_bias",
                                                 "closest_pair_over_sum_r200c")}
    print("clustering", checks.jsonable(res["halo_clustering"]), flush=True)

    gi = checks.galaxy_infall(boxes, model, box)
    res["infall_galaxies"] = {
        "definition": gi["definition"],
        **{g: {k: gi["groups"][g][k] for k in ("n_clusters", "median_log_mass", "surrounding", "all_galaxies",
                                               "r200c_to_2r200c")} for g in ("14.1-14.3", ">=14.7")},
        "ratio_high_over_low_surrounding": gi["ratio_high_over_low_surrounding"],
        "ratio_high_over_low_all_galaxies": gi["ratio_high_over_low_all_galaxies"]}
    print("infall (galaxies)", checks.jsonable(res["infall_galaxies"]), flush=True)
    res["infall_particles_stacked"] = checks.particle_infall_stacked(snaps, model, box)
    print("infall (particles, stacked)", checks.jsonable(res["infall_particles_stacked"]), flush=True)

    res.update(checks.members_and_msigma(cat, model))
    print("members", checks.jsonable({k: res[k] for k in ("evrard08_members", "richness", "msigma")}),
          flush=True)
    if args.out:
        write_json(args.out, checks.jsonable(res, digits=6))


if __name__ == "__main__":
    main()
