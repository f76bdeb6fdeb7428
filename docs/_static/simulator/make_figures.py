"""Figures and numbers of docs/user_guide/simulator.rst.

Run from the repository root (about 3 minutes on 2 cores)::

    python docs/_static/simulator/make_figures.py

Writes the PNG figures and ``numbers.json`` next to this script.
"""

import json
import os
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from skcluster.datasets import make_mock_catalog  # noqa: E402
from skcluster.simulate import HaloModel  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def msigma(X, y, efunc, lo=14.5):
    s = np.array([np.std(x[:, 2], ddof=1) for x in X])
    sel = y >= lo
    slope, icpt = np.polyfit(np.log10(efunc * 10 ** y[sel] / 1e15), np.log10(s[sel]), 1)
    return s, float(10**icpt), float(slope)


def main():
    t0 = time.time()
    cat = make_mock_catalog(random_state=0, n_jobs=2)
    build_seconds = time.time() - t0
    model = HaloModel()
    tr, te = cat.train, cat.test
    volume = cat.params["n_realizations"] * cat.params["box_size"] ** 3
    numbers = {"build_seconds": build_seconds, "load": os.getloadavg(), "n_train": len(tr), "n_test": len(te),
               "volume": volume, "n_distinct_train_above_14.8": int(len(np.unique(tr.groups[tr.y >= 14.8])))}

    # 1. mass function
    edges = np.arange(13.5, 15.45, 0.1)
    mid = 0.5 * (edges[1:] + edges[:-1])
    counts = np.histogram(cat.halos["log_mass"], bins=edges)[0]
    expected = np.array([volume * model.number_density(a, b) for a, b in zip(edges[:-1], edges[1:])])
    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.errorbar(mid, counts / volume / 0.1, yerr=np.sqrt(counts) / volume / 0.1, fmt="o", ms=3,
                label="simulated halos (4 boxes)")
    ax.plot(mid, expected / volume / 0.1, "k-", label="Tinker et al. 2008 (colossus)")
    ax.plot(mid, np.histogram(tr.y, bins=edges)[0] / volume / 0.1, drawstyle="steps-mid", label="training sample")
    ax.plot(mid, np.histogram(te.y, bins=edges)[0] / volume / 0.1, drawstyle="steps-mid", label="test sample")
    ax.set_yscale("log")
    ax.set_xlabel(r"$\log_{10} M_{200c}$ [$h^{-1} M_\odot$]")
    ax.set_ylabel(r"$dn/d\log_{10}M$ [$h^3$ Mpc$^{-3}$ dex$^{-1}$]")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(HERE, "mass_function.png"), dpi=110)
    pulls = (counts - expected) / np.sqrt(expected)
    numbers["mass_function"] = {
        "N_above_14_sim": int((cat.halos["log_mass"] >= 14).sum()), "N_above_14_expected": volume
        * model.number_density(14.0), "N_above_14.5_sim": int((cat.halos["log_mass"] >= 14.5).sum()),
        "N_above_14.5_expected": volume * model.number_density(14.5), "max_abs_pull_per_bin": float(np.abs(
            pulls[expected > 0]).max())}

    # 2. M-sigma
    fig, ax = plt.subplots(figsize=(5.5, 4))
    e = model.efunc
    x = np.log10(e * 10**tr.y / 1e15)
    s_pure, s15_p, a_p = msigma(tr.X_pure, tr.y, e)
    s_cont, s15_c, a_c = msigma(tr.X, tr.y, e)
    ax.scatter(x, np.log10(s_cont), s=2, alpha=0.25, color="tab:red", label="contaminated (cylinder)")
    ax.scatter(x, np.log10(s_pure), s=2, alpha=0.25, color="tab:blue", label="pure (true members)")
    xx = np.linspace(x.min(), x.max(), 10)
    ax.plot(xx, np.log10(1082.9) + 0.3361 * xx, "k--", label="Evrard et al. 2008")
    ax.plot(xx, np.log10(s15_p) + a_p * xx, color="navy", label=f"pure fit: {s15_p:.0f} km/s, {a_p:.3f}")
    ax.plot(xx, np.log10(s15_c) + a_c * xx, color="darkred", label=f"contam. fit: {s15_c:.0f} km/s, {a_c:.3f}")
    ax.axvline(np.log10(e * 10**14.5 / 1e15), color="gray", lw=0.5)
    ax.set_xlabel(r"$\log_{10}[E(z) M_{200c} / 10^{15} h^{-1} M_\odot]$")
    ax.set_ylabel(r"$\log_{10} \sigma_v$ [km/s]")
    ax.legend(fontsize=7, markerscale=4)
    fig.tight_layout()
    fig.savefig(os.path.join(HERE, "msigma.png"), dpi=110)
    numbers["msigma_train_above_14.5"] = {"pure": {"sigma_15": s15_p, "alpha": a_p},
                                          "contaminated": {"sigma_15": s15_c, "alpha": a_c}}
    _, s15_pt, a_pt = msigma(te.X_pure, te.y, e)
    _, s15_ct, a_ct = msigma(te.X, te.y, e)
    numbers["msigma_test_above_14.5"] = {"pure": {"sigma_15": s15_pt, "alpha": a_pt},
                                         "contaminated": {"sigma_15": s15_ct, "alpha": a_ct}}

    # 3. interloper fraction and richness
    f = tr.interloper_fraction()
    bins = np.arange(13.5, 15.3, 0.25)
    rows = []
    for a, b in zip(bins[:-1], bins[1:]):
        sel = (tr.y >= a) & (tr.y < b)
        if sel.any():
            rows.append({"log_mass": [float(a), float(b)], "n": int(sel.sum()),
                         "interloper_fraction": float(f[sel].mean()),
                         "median_richness": float(np.median(tr.richness[sel])),
                         "median_members": float(np.median(tr.n_members[sel]))})
    numbers["by_mass"] = rows
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot([np.mean(r["log_mass"]) for r in rows], [r["interloper_fraction"] for r in rows], "o-")
    ax.set_xlabel(r"$\log_{10} M_{200c}$ [$h^{-1} M_\odot$]")
    ax.set_ylabel("interloper fraction in the cylinder")
    fig.tight_layout()
    fig.savefig(os.path.join(HERE, "interlopers.png"), dpi=110)

    # 4. example phase-space diagrams
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.6), sharey=True)
    rng = np.random.default_rng(0)
    for ax, (a, b) in zip(axes, [(13.6, 13.8), (14.3, 14.5), (14.9, 15.2)]):
        i = rng.choice(np.flatnonzero((tr.y >= a) & (tr.y < b)))
        x_, m = tr.X[i], tr.members[i]
        r = np.hypot(x_[:, 0], x_[:, 1])
        ax.scatter(r[m], x_[m, 2], s=8, color="tab:blue", label="members")
        ax.scatter(r[~m], x_[~m, 2], s=8, color="tab:red", label="interlopers")
        ax.set_title(rf"$\log_{{10}} M = {tr.y[i]:.2f}$, $N = {len(x_)}$", fontsize=9)
        ax.set_xlabel(r"$R_{\rm proj}$ [$h^{-1}$ Mpc]")
        ax.set_xlim(0, 1.6)
        ax.set_ylim(-2200, 2200)
    axes[0].set_ylabel(r"$v_{\rm los}$ [km/s]")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(HERE, "phase_space.png"), dpi=110)

    with open(os.path.join(HERE, "numbers.json"), "w") as fh:
        json.dump(numbers, fh, indent=2)
    print(json.dumps(numbers, indent=2))


if __name__ == "__main__":
    main()
