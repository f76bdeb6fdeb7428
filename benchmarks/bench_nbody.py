"""Validate and time the N-body simulator behind the default mock catalogue (issue 17).

Builds the default catalogue (``make_mock_catalog(random_state=0)``: 4 boxes of
500 h^-1 Mpc, 256^3 particles, mesh 384, 10 steps) into an empty data home,
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
* the mean peculiar radial velocity of particles (the field galaxies' reservoir)
  at 2-5 h^-1 Mpc around >= 10^14.7 and 10^14.1-14.3 halos;
* Evrard et al. (2008) for the true members; median true richness at the test
  sample's median mass; the M-sigma slope and test scatter, pure and contaminated.

Run from the repository root (about 15 minutes on 2 cores)::

    python benchmarks/bench_nbody.py --data-home /tmp/skcluster_bench --out benchmarks/results/nbody.json
"""

import argparse
import os
import shutil
import sys
import time

import numpy as np
from scipy.spatial import cKDTree
from sklearn.utils import check_random_state

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _results import command, machine, write_json  # noqa: E402
from bench_simulate import PeakMemory  # noqa: E402

from skcluster.datasets import TINY_MOCK_PARAMS, make_mock_catalog  # noqa: E402
from skcluster.datasets._cache import simulate_snapshot  # noqa: E402
from skcluster.simulate import HaloModel, matter_power_spectrum, rank_matched_masses, using_colossus  # noqa: E402


def halofit(cc, k, z):
    """Takahashi et al. (2012) halofit from colossus' linear P(k) (flat LCDM)."""
    from scipy.optimize import brentq

    def sigma2_gauss(r):
        kk = np.logspace(-4, 3, 4000)
        d2 = kk**3 * cc.matterPowerSpectrum(kk, z) / (2 * np.pi**2)
        return np.trapezoid(d2 * np.exp(-(kk * r) ** 2), np.log(kk))

    rnl = brentq(lambda r: sigma2_gauss(r) - 1.0, 0.01, 20.0)
    ksig = 1.0 / rnl
    eps = 1e-3
    s_p, s_m = sigma2_gauss(rnl * (1 + eps)), sigma2_gauss(rnl * (1 - eps))
    neff = -3.0 - (np.log(s_p) - np.log(s_m)) / (2 * eps)
    kk = np.logspace(-4, 3, 4000)
    d2 = kk**3 * cc.matterPowerSpectrum(kk, z) / (2 * np.pi**2)
    y = (kk * rnl) ** 2
    integ = lambda p: np.trapezoid(d2 * p * np.exp(-y), np.log(kk))  # noqa: E731
    # n_eff = -3 - dln sigma^2/dln R and C = -d^2 ln sigma^2/dln R^2 from Gaussian-filter moments (sigma = 1)
    s1 = integ(-2 * y)
    c = s1**2 - integ(4 * y**2 - 4 * y)
    om = cc.Om(z)
    an = 10 ** (1.5222 + 2.8553 * neff + 2.3706 * neff**2 + 0.9903 * neff**3 + 0.2250 * neff**4 - 0.6038 * c)
    bn = 10 ** (-0.5642 + 0.5864 * neff + 0.5716 * neff**2 - 1.5474 * c)
    cn = 10 ** (0.3698 + 2.0404 * neff + 0.8161 * neff**2 + 0.5869 * c)
    gamma = 0.1971 - 0.0843 * neff + 0.8460 * c
    alpha = abs(6.0835 + 1.3373 * neff - 0.1959 * neff**2 - 5.5274 * c)
    beta = 2.0379 - 0.7354 * neff + 0.3157 * neff**2 + 1.2490 * neff**3 + 0.3980 * neff**4 - 0.1682 * c
    mu, nu = 0.0, 10 ** (5.2105 + 3.6902 * neff)
    f1, f2, f3 = om**-0.0307, om**-0.0585, om**0.0743
    lin = cc.matterPowerSpectrum(k, z)
    dl = k**3 * lin / (2 * np.pi**2)
    yk = k / ksig
    dq = dl * (1 + dl) ** beta / (1 + alpha * dl) * np.exp(-(yk / 4 + yk**2 / 8))
    dh = an * yk ** (3 * f1) / (1 + bn * yk**f2 + (cn * f3 * yk) ** (3 - gamma)) / (1 + mu / yk + nu / yk**2)
    return (dq + dh) * 2 * np.pi**2 / k**3


def build(data_home, n_jobs, params):
    with PeakMemory() as mem:
        t0 = time.perf_counter()
        cat = make_mock_catalog(random_state=0, n_jobs=n_jobs, data_home=data_home, **params)
        seconds = time.perf_counter() - t0
    return cat, {"seconds": seconds, "peak_rss_mb": mem.peak, "cpu_seconds": mem.cpu_seconds,
                 "load_after": os.getloadavg()}


def snapshots(cat, data_home):
    """The cached boxes of the catalogue (same seeds as make_mock_catalog)."""
    p = cat.params
    seeds = np.random.SeedSequence(int(check_random_state(0).randint(0, 2**31 - 1))).spawn(p["n_realizations"] + 1)
    model = HaloModel(p["cosmology"], p["redshift"])
    out = []
    for r in range(p["n_realizations"]):
        snap = simulate_snapshot(model.colossus, box_size=p["box_size"], n_particles=p["n_particles"],
                                 mesh=p["mesh"], n_steps=p["n_steps"], redshift=p["redshift"],
                                 seed=int(seeds[r].generate_state(1)[0]), particle_density=p["particle_density"],
                                 data_home=data_home)
        assert snap["cached"]
        out.append(snap)
    return model, out


def fit(log_mass, sigma, efunc, lo=14.5):
    sel = log_mass >= lo
    slope, icpt = np.polyfit(np.log10(efunc * 10 ** log_mass[sel] / 1e15), np.log10(sigma[sel]), 1)
    return float(10**icpt), float(slope)


def msigma_scatter(tr_X, tr_y, te_X, te_y, efunc):
    """Fit log sigma = a + alpha log M on training clusters >= 10^14.5... then invert on the test sample."""
    s_tr = np.array([np.std(x[:, 2], ddof=1) if len(x) > 1 else np.nan for x in tr_X])
    s_te = np.array([np.std(x[:, 2], ddof=1) if len(x) > 1 else np.nan for x in te_X])
    ok = np.isfinite(s_tr) & (s_tr > 0)
    s15, alpha = fit(tr_y[ok], s_tr[ok], efunc)
    keep = np.isfinite(s_te) & (s_te > 0)
    s_te, te_y = s_te[keep], te_y[keep]
    pred = 15.0 - np.log10(efunc) + (np.log10(s_te) - np.log10(s15)) / alpha
    return alpha, float(np.std(pred - te_y))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-home", required=True, help="emptied first, so the first build simulates")
    ap.add_argument("--n-jobs", type=int, default=1)
    ap.add_argument("--keep-cache", action="store_true", help="do not empty the data home first")
    ap.add_argument("--n-realizations", type=int, default=None, help="fewer boxes than the default 4")
    ap.add_argument("--tiny", action="store_true", help="TINY_MOCK_PARAMS (a smoke run, not a validation)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    params = dict(TINY_MOCK_PARAMS, min_log_mass=13.5) if args.tiny else {}
    if args.n_realizations:
        params["n_realizations"] = args.n_realizations
    if not args.keep_cache and os.path.isdir(args.data_home):
        shutil.rmtree(args.data_home)
    res = {"command": command(__file__), "machine": machine(), "load_before": os.getloadavg()}
    cat, res["first_build"] = build(args.data_home, args.n_jobs, params)
    print("first build", res["first_build"], flush=True)
    cat, res["rebuild"] = build(args.data_home, args.n_jobs, params)
    print("rebuild", res["rebuild"], flush=True)
    model, snaps = snapshots(cat, args.data_home)
    box = cat.params["box_size"]
    z = cat.params["redshift"]
    cc = model.colossus

    # P(k) of the stored particles
    ratios = []
    for s in snaps:
        k, pk, _ = matter_power_spectrum(s["particles"]["position"], box, min(256, cat.params["n_particles"] * 2))
        with using_colossus(cc):
            hf = halofit(cc, k, z)
        ratios.append(pk / hf)
    ratio = np.mean(ratios, axis=0)
    sel = (k >= 0.07) & (k <= 0.3)
    res["pk_over_halofit"] = {"k": k[sel].round(4).tolist(), "ratio": ratio[sel].round(4).tolist(),
                              "max_abs_deviation": float(np.max(np.abs(ratio[sel] - 1)))}
    print("P(k)/halofit", res["pk_over_halofit"], flush=True)

    # FOF mass function vs Watson13
    vol = len(snaps) * box**3
    fof_lm = np.concatenate([np.log10(s["halos"]["n_members"] * s["particle_mass"]) for s in snaps])
    edges = np.arange(14.0, 15.26, 0.25)
    counts = np.histogram(fof_lm, edges)[0]
    from colossus.lss import mass_function as cmf
    with using_colossus(cc):
        grid = np.linspace(13.9, 15.6, 400)
        dn = cmf.massFunction(10**grid, z, mdef="fof", model="watson13", q_out="dndlnM") * np.log(10)
    cum = np.concatenate([[0], np.cumsum(0.5 * (dn[1:] + dn[:-1]) * np.diff(grid))])
    expect = np.diff(np.interp(edges, grid, cum)) * vol
    res["fof_mass_function"] = {"edges": edges.tolist(), "counts": counts.tolist(),
                                "watson13": expect.round(1).tolist(),
                                "ratio": (counts / expect).round(3).tolist(),
                                "poisson_error": (np.sqrt(counts) / expect).round(3).tolist()}
    print("FOF HMF", res["fof_mass_function"], flush=True)

    # halo clustering and exclusion
    min_sep, bias_w = np.inf, []
    rbins = np.array([4.0, 5.0, 6.3, 8.0, 10.0])
    dd_tot, rr_tot = np.zeros(len(rbins) - 1), np.zeros(len(rbins) - 1)
    a_inv = 1 + z
    for s in snaps:
        lm = rank_matched_masses(s["halos"]["n_members"], model, box**3)
        sel = lm >= 14.0
        pos = s["halos"]["position"][sel]
        tree = cKDTree(pos, boxsize=box)
        dd = np.diff(tree.count_neighbors(tree, rbins)) / 2.0
        n = len(pos)
        rr = n * (n - 1) / 2.0 * 4 * np.pi / 3 * np.diff(rbins**3) / box**3
        dd_tot += dd
        rr_tot += rr
        bias_w.append(model.interp("bias", lm[sel]))
        r200 = model.r200c(lm[sel]) * a_inv
        pairs = tree.query_pairs(2 * r200.max(), output_type="ndarray")
        if len(pairs):
            d = pos[pairs[:, 0]] - pos[pairs[:, 1]]
            d -= box * np.round(d / box)
            sep = np.linalg.norm(d, axis=1) / (r200[pairs[:, 0]] + r200[pairs[:, 1]])
            min_sep = min(min_sep, float(sep.min()))
    xi = dd_tot / rr_tot - 1
    b = float(np.mean(np.concatenate(bias_w)))
    rmid = np.sqrt(rbins[1:] * rbins[:-1])
    with using_colossus(cc):
        xil = np.array([cc.correlationFunction(r, z) for r in rmid])
    res["halo_clustering"] = {"r": rmid.round(2).tolist(), "xi": xi.round(3).tolist(),
                              "b2_xi_lin": (b * b * xil).round(3).tolist(),
                              "ratio": (xi / (b * b * xil)).round(3).tolist(), "mean_bias": b,
                              "closest_pair_over_sum_r200c": min_sep}
    print("clustering", res["halo_clustering"], flush=True)

    # infall around halos from the particle reservoir
    shells = np.array([1.0, 2.0, 3.0, 5.0])  # plus 2-5 combined below
    groups = {"14.1-14.3": (14.1, 14.3), ">=14.7": (14.7, 16.0)}
    vr = {g: [np.zeros(len(shells) - 1), np.zeros(len(shells) - 1)] for g in groups}
    for s in snaps:
        lm = rank_matched_masses(s["halos"]["n_members"], model, box**3)
        ptree = cKDTree(s["particles"]["position"].astype(float), boxsize=box)
        ppos, pvel = s["particles"]["position"].astype(float), s["particles"]["velocity"].astype(float)
        for g, (lo, hi) in groups.items():
            rows = np.flatnonzero((lm >= lo) & (lm < hi))[:300]
            for i in rows:
                c, v = s["halos"]["position"][i], s["halos"]["velocity"][i]
                idx = ptree.query_ball_point(c, shells[-1])
                d = ppos[idx] - c
                d -= box * np.round(d / box)
                r = np.linalg.norm(d, axis=1)
                ur = np.sum(d * (pvel[idx] - v), axis=1) / np.maximum(r, 1e-6)
                which = np.digitize(r, shells) - 1
                ok = (which >= 0) & (which < len(shells) - 1)
                vr[g][0] += np.bincount(which[ok], weights=ur[ok], minlength=len(shells) - 1)
                vr[g][1] += np.bincount(which[ok], minlength=len(shells) - 1)
    mean_vr = {g: (v[0] / np.maximum(v[1], 1)).round(1).tolist() for g, v in vr.items()}
    v25 = {g: float(v[0][1:].sum() / max(v[1][1:].sum(), 1)) for g, v in vr.items()}
    res["infall"] = {"shells": shells.tolist(), "mean_radial_velocity_kms": mean_vr,
                     "mean_radial_velocity_2_5_kms": v25, "ratio_2_5": v25[">=14.7"] / v25["14.1-14.3"],
                     "ratio_high_over_low": (np.array(mean_vr[">=14.7"]) / np.array(mean_vr["14.1-14.3"]))
                     .round(3).tolist()}
    print("infall", res["infall"], flush=True)

    # members and the paper's setup
    tr, te = cat.train, cat.test
    efunc = model.efunc
    y_all = np.concatenate([tr.y, te.y])
    s_pure = np.array([np.std(x[:, 2], ddof=1) if len(x) > 1 else np.nan for x in list(tr.X_pure) + list(te.X_pure)])
    ok = np.isfinite(s_pure) & (s_pure > 0)
    s15, alpha = fit(y_all[ok], s_pure[ok], efunc)
    res["evrard08_members"] = {"sigma_15": s15, "alpha": alpha, "reference": [1082.9, 0.3361]}
    med = float(np.median(te.y))
    near = np.abs(te.y - 14.17) < 0.05
    res["richness"] = {"test_median_log_mass": med, "median_true_richness_at_14.17": float(np.median(
        te.n_members[near])), "median_richness_at_14.17": float(np.median(te.richness[near])),
        "n_train": len(tr), "n_test": len(te)}
    a_c, sc_c = msigma_scatter(tr.X, tr.y, te.X, te.y, efunc)
    a_p, sc_p = msigma_scatter(tr.X_pure, tr.y, te.X_pure, te.y, efunc)
    res["msigma"] = {"alpha_contaminated": a_c, "alpha_pure": a_p, "test_scatter_contaminated": sc_c,
                     "test_scatter_pure": sc_p, "paper": {"alpha": 0.254, "scatter_pure": 0.193,
                                                          "scatter_contaminated": 0.316}}
    print("members", res["evrard08_members"], res["richness"], res["msigma"], flush=True)
    if args.out:
        write_json(args.out, res)


if __name__ == "__main__":
    main()
