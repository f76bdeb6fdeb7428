"""Figures and numbers of the simulator guide's validation section (docs/user_guide/simulator.rst).

Rebuilds the default catalogue (seed 0) from the boxes cached in
``--data-home`` (and simulates them first if missing, unless ``--cached-only``),
measures it with ``_nbody_checks.py`` (the functions behind ``bench_nbody.py``)
and writes to ``docs/_static/simulator/`` (or ``--out-dir``):

* ``pk_halofit.png``: P(k) of the particles against halofit, 10% band;
* ``mass_function.png``: FOF masses against Watson et al. (2013) and the
  rank-matched M200c against Tinker et al. (2008), ratios with Poisson errors;
* ``halo_clustering.png``: xi(r) of >= 10^14 halos against b^2 xi_lin;
* ``infall_profiles.png``: mean peculiar radial velocity of the surrounding
  galaxies against radius, by cluster mass;
* ``phase_space.png``: three cylinders with members, infall and field coloured;
* ``msigma.png``: M-sigma of the training sample, pure and contaminated,
  beside Ho et al. (2019) Table 1 and Evrard et al. (2008);
* ``numbers.json``: the numbers behind them, with the command.

Run from the repository root (about 2 minutes once the boxes are cached)::

    python benchmarks/plot_simulator_validation.py --data-home ~/skcluster_data
"""

import argparse
import os
import sys
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _nbody_checks as checks  # noqa: E402
from _results import ROOT, command, machine, utc_now, write_json  # noqa: E402

OUT = ROOT / "docs" / "_static" / "simulator"
DPI = 110
#: Ho et al. (2019) Table 1 (sigma_15 [km/s], alpha) and Evrard et al. (2008) dark matter.
HO19_PURE, HO19_CONTAMINATED, EVRARD08 = (1078.0, 0.345), (971.0, 0.254), (1082.9, 0.3361)
KIND_STYLE = [("members (inside $R_{200c}$)", "tab:blue"),
              (r"infall ($R_{200c}$ - 5 $h^{-1}$ Mpc, 3D)", "tab:orange"),
              ("field (beyond 5 $h^{-1}$ Mpc)", "0.55")]
LOG_M = r"$\log_{10} M_{200c}$ [$h^{-1} M_\odot$]"


def _save(fig, out_dir, name):
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, name), dpi=DPI)
    plt.close(fig)


def plot_pk(pk, out_dir):
    fig, (ax, axr) = plt.subplots(2, 1, figsize=(5.5, 5), sharex=True, gridspec_kw={"height_ratios": [2, 1]})
    k = pk["k"]
    ax.loglog(k, pk["ratio"] * pk["halofit"], "o", ms=3, label="particles (mean of the boxes)")
    ax.loglog(k, pk["halofit"], "k-", label="halofit (Takahashi et al. 2012)")
    ax.loglog(k, pk["linear"], "k:", label="linear (colossus)")
    ax.set_ylabel(r"$P(k)$ [$h^{-3}$ Mpc$^3$]")
    ax.legend(fontsize=8)
    axr.axhspan(0.9, 1.1, xmin=0, xmax=1, color="0.92")
    axr.fill_between([0.07, 0.3], 0.9, 1.1, color="tab:green", alpha=0.2, label="target: 10%, 0.07-0.3")
    axr.errorbar(k, pk["ratio"], yerr=pk["ratio_error"], fmt="o", ms=3)
    axr.axhline(1, color="k", lw=0.8)
    axr.set_ylim(0.75, 1.25)
    axr.set_xscale("log")
    axr.set_xlabel(r"$k$ [$h$ Mpc$^{-1}$]")
    axr.set_ylabel("/ halofit")
    axr.legend(fontsize=7, loc="upper right")
    _save(fig, out_dir, "pk_halofit.png")


def plot_mass_function(mf, out_dir):
    edges = mf["edges"]
    mid, width, vol = 0.5 * (edges[1:] + edges[:-1]), np.diff(edges), mf["volume"]
    fig, (ax, axr) = plt.subplots(2, 1, figsize=(5.5, 5), sharex=True, gridspec_kw={"height_ratios": [2, 1]})
    rows = (("fof", "FOF masses", "Watson et al. 2013 (FOF)", "tab:red", -0.02),
            ("m200c", "rank-matched $M_{200c}$", "Tinker et al. 2008 ($M_{200c}$)", "tab:blue", 0.02))
    for name, label, ref, color, dx in rows:
        d = mf[name]
        norm = vol * width
        ax.errorbar(mid + dx, d["counts"] / norm, yerr=np.sqrt(d["counts"]) / norm, fmt="o", ms=3,
                    color=color, label=label)
        ax.plot(mid, d["expected"] / norm, "-", color=color, lw=1, label=ref)
        axr.errorbar(mid + dx, d["ratio"], yerr=d["poisson_error"], fmt="o", ms=3, color=color)
    ax.set_yscale("log")
    ax.set_ylabel(r"$dn/d\log_{10}M$ [$h^3$ Mpc$^{-3}$ dex$^{-1}$]")
    ax.legend(fontsize=7)
    axr.axhspan(0.9, 1.1, color="tab:green", alpha=0.2)
    axr.axhline(1, color="k", lw=0.8)
    axr.set_ylim(0.6, 1.4)
    axr.set_xlabel(r"$\log_{10} M$ [$h^{-1} M_\odot$]")
    axr.set_ylabel("counts / model")
    _save(fig, out_dir, "mass_function.png")


def plot_clustering(hc, out_dir):
    fig, (ax, axr) = plt.subplots(2, 1, figsize=(5.5, 5), sharex=True, gridspec_kw={"height_ratios": [2, 1]})
    r = hc["r"]
    ax.errorbar(r, hc["xi"], yerr=hc["xi_error"], fmt="o", ms=3,
                label=r"halos $\geq 10^{14}$ (rank-matched $M_{200c}$)")
    ax.plot(r, hc["b2_xi_lin"], "k-",
            label=rf"$b^2 \xi_{{\rm lin}}$ (Tinker et al. 2010, $\bar b$ = {hc['mean_bias']:.2f})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylabel(r"$\xi(r)$")
    ax.legend(fontsize=8)
    axr.fill_between([4, 10], 0.75, 1.25, color="tab:green", alpha=0.2, label="target: 25%, 4-10")
    axr.errorbar(r, hc["ratio"], yerr=hc["xi_error"] / hc["b2_xi_lin"], fmt="o", ms=3)
    axr.axhline(1, color="k", lw=0.8)
    axr.set_ylim(0, 2)
    axr.set_xlabel(r"$r$ [comoving $h^{-1}$ Mpc]")
    axr.set_ylabel(r"/ $b^2 \xi_{\rm lin}$")
    ticks = [t for t in (2, 3, 4, 5, 7, 10, 20, 30, 40) if r[0] / 1.2 <= t <= r[-1] * 1.2]
    axr.set_xticks(ticks)
    axr.set_xticklabels([str(t) for t in ticks])
    axr.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    axr.legend(fontsize=7)
    _save(fig, out_dir, "halo_clustering.png")


def plot_infall(gi, out_dir):
    edges = gi["profile_edges"]
    mid = 0.5 * (edges[1:] + edges[:-1])
    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.axvspan(2, 5, color="0.92")
    for j, (g, d) in enumerate(gi["groups"].items()):
        ax.errorbar(mid + 0.04 * (j - 1.5), d["profile_mean"], yerr=d["profile_error"], fmt="o-", ms=3,
                    label=rf"{g} (median {d['median_log_mass']:.2f}, {d['n_clusters']} clusters)")
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xlabel(r"$r$ [comoving $h^{-1}$ Mpc]")
    ax.set_ylabel(r"mean $v_r - v_{r,\rm cluster}$ [km/s]")
    ax.set_title("peculiar radial velocity of the surrounding galaxies", fontsize=9)
    lo = min(np.nanmin(d["profile_mean"] - d["profile_error"]) for d in gi["groups"].values())
    ax.set_ylim(1.5 * lo - 50, 50)
    ax.legend(fontsize=7, title=LOG_M, title_fontsize=7, loc="lower left")
    _save(fig, out_dir, "infall_profiles.png")


def plot_phase_space(examples, out_dir, aperture=1.6, v_cut=2200.0):
    fig, axes = plt.subplots(1, len(examples), figsize=(11, 4.1), sharey=True)
    for ax, ex in zip(np.atleast_1d(axes), examples):
        for kind, (label, color) in enumerate(KIND_STYLE):
            m = ex["kind"] == kind
            ax.scatter(ex["r_proj"][m], ex["v_los"][m], s=7, color=color, label=label)
        n = [int(np.sum(ex["kind"] == k)) for k in range(3)]
        ax.set_title(rf"$\log_{{10}} M_{{200c}} = {ex['log_mass']:.2f}$: {n[0]} / {n[1]} / {n[2]}",
                     fontsize=9)
        ax.axvline(ex["r200c_comoving"], color="0.6", lw=0.6, ls="--")
        ax.set_xlabel(r"$R_{\rm proj}$ [$h^{-1}$ Mpc]")
        ax.set_xlim(0, aperture)
        ax.set_ylim(-v_cut, v_cut)
    axes = np.atleast_1d(axes)
    axes[0].set_ylabel(r"$v_{\rm los}$ [km/s]")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=3, fontsize=8, markerscale=1.5, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    fig.savefig(os.path.join(out_dir, "phase_space.png"), dpi=DPI)
    plt.close(fig)


def plot_msigma(ms, out_dir):
    fig, ax = plt.subplots(figsize=(5.5, 4))
    x = ms["x"]
    ax.scatter(x, ms["log_sigma_contaminated"], s=2, alpha=0.25, color="tab:red",
               label="contaminated (cylinder)")
    ax.scatter(x, ms["log_sigma_pure"], s=2, alpha=0.25, color="tab:blue", label="pure (true members)")
    xx = np.linspace(np.nanmin(x), np.nanmax(x), 10)
    (s_p, a_p), (s_c, a_c) = ms["fit_pure"], ms["fit_contaminated"]
    ax.plot(xx, np.log10(s_p) + a_p * xx, color="navy", label=f"pure fit: {s_p:.0f} km/s, {a_p:.3f}")
    ax.plot(xx, np.log10(s_c) + a_c * xx, color="darkred", label=f"contam. fit: {s_c:.0f} km/s, {a_c:.3f}")
    for (s, a), style, label in ((HO19_PURE, "--", "Ho+19 Table 1 pure"),
                                 (HO19_CONTAMINATED, ":", "Ho+19 Table 1 contam.")):
        ax.plot(xx, np.log10(s) + a * xx, "k", ls=style, label=f"{label}: {s:.0f} km/s, {a:.3f}")
    ax.plot(xx, np.log10(EVRARD08[0]) + EVRARD08[1] * xx, color="0.5", lw=0.8, label="Evrard et al. 2008")
    ax.axvline(ms["x_cut"], color="gray", lw=0.5)
    ax.set_xlabel(r"$\log_{10}[E(z) M_{200c} / 10^{15} h^{-1} M_\odot]$")
    ax.set_ylabel(r"$\log_{10} \sigma_v$ [km/s]")
    ax.legend(fontsize=6.5, markerscale=4)
    _save(fig, out_dir, "msigma.png")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-home", default=None, help="where the boxes are cached (default: the package's)")
    ap.add_argument("--mesh", type=int, default=None,
                    help="N-body force mesh per side (default: the package's)")
    ap.add_argument("--n-jobs", type=int, default=1)
    ap.add_argument("--cached-only", action="store_true", help="raise instead of starting an N-body run")
    ap.add_argument("--out-dir", default=str(OUT))
    args = ap.parse_args()
    if args.cached_only:
        checks.forbid_simulation()
    os.makedirs(args.out_dir, exist_ok=True)
    t0 = time.perf_counter()
    cat = checks.build_catalog(args.data_home, args.mesh, args.n_jobs)
    model, snaps, boxes = checks.load_boxes(cat, args.data_home)
    box, p = cat.params["box_size"], cat.params
    numbers = {"command": command(__file__), "date": utc_now(), "machine": machine(),
               "catalogue": {k: p[k] for k in ("n_realizations", "box_size", "n_particles", "mesh",
                                               "n_steps")},
               "n_train": len(cat.train), "n_test": len(cat.test)}

    pk = checks.power_spectrum(snaps, model, box, p["n_particles"])
    sel = (pk["k"] >= 0.07) & (pk["k"] <= 0.3)
    numbers["pk_over_halofit_0.07_0.3"] = {"min": float(pk["ratio"][sel].min()),
                                           "max": float(pk["ratio"][sel].max())}
    numbers["pk_over_halofit"] = {"k": pk["k"], "ratio": pk["ratio"], "error": pk["ratio_error"]}
    plot_pk(pk, args.out_dir)

    mf = checks.mass_functions(snaps, model, box, edges=np.arange(13.5, 15.51, 0.25))
    numbers["mass_function"] = {"edges": mf["edges"], "fof_over_watson13": mf["fof"]["ratio"],
                                "m200c_over_tinker08": mf["m200c"]["ratio"],
                                "fof_counts": mf["fof"]["counts"],
                                "poisson_error_fof": mf["fof"]["poisson_error"]}
    plot_mass_function(mf, args.out_dir)

    hc = checks.halo_clustering(snaps, model, box, rbins=np.geomspace(2.0, 40.0, 14))
    hc4 = checks.halo_clustering(snaps, model, box)
    numbers["halo_clustering"] = {"r": hc["r"], "ratio": hc["ratio"], "ratio_4_10": hc4["ratio"],
                                  "r_4_10": hc4["r"], "mean_bias": hc["mean_bias"],
                                  "closest_pair_over_sum_r200c": hc["closest_pair_over_sum_r200c"]}
    plot_clustering(hc, args.out_dir)

    gi = checks.galaxy_infall(boxes, model, box)
    numbers["infall_galaxies"] = gi
    numbers["infall_particles_stacked"] = checks.particle_infall_stacked(snaps, model, box)
    plot_infall(gi, args.out_dir)

    ex = checks.phase_space_examples(boxes, model, box, p["cosmology"])
    numbers["phase_space_examples"] = [{"log_mass": e["log_mass"], "n_galaxies": len(e["kind"]),
                                        "n_members": int(np.sum(e["kind"] == 0)),
                                        "n_infall": int(np.sum(e["kind"] == 1)),
                                        "n_field": int(np.sum(e["kind"] == 2))} for e in ex]
    plot_phase_space(ex, args.out_dir, p["aperture"], p["v_cut"])

    ms = checks.msigma_points(cat, model)
    numbers["msigma_train_above_14.5"] = {"pure": ms["fit_pure"], "contaminated": ms["fit_contaminated"],
                                          "ho19_table1_pure": HO19_PURE, "ho19_table1_contaminated":
                                          HO19_CONTAMINATED}
    numbers.update(checks.members_and_msigma(cat, model))
    plot_msigma(ms, args.out_dir)
    numbers["seconds"] = time.perf_counter() - t0
    text = write_json(os.path.join(args.out_dir, "numbers.json"), checks.jsonable(numbers))
    print(text)


if __name__ == "__main__":
    main()
