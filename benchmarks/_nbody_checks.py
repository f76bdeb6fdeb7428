"""Measurements of the N-body mock catalogue (issue 17), shared by the validation scripts.

``bench_nbody.py`` turns them into ``benchmarks/results/nbody*.json`` and
``plot_simulator_validation.py`` into the figures of the simulator guide. Each
function returns plain arrays and dicts. Units: positions and radii comoving
h^-1 Mpc, velocities km/s, masses log10 M200c [h^-1 Msun] (FOF masses log10
of particle number x particle mass), wavenumbers h Mpc^-1.
"""

import numpy as np
from scipy.spatial import cKDTree
from sklearn.utils import check_random_state

import skcluster.simulate
from skcluster.datasets import make_mock_catalog
from skcluster.datasets._boxes import check_nbody_params, simulate_box
from skcluster.datasets._cache import simulate_snapshot
from skcluster.datasets._mock import _halo_model, _nbody_kwargs, _resolve_hod
from skcluster.observe import select_cylinders
from skcluster.simulate import matter_power_spectrum, rank_matched_masses, using_colossus

#: Mass bins of the infall measurement [log10 h^-1 Msun]: the issue's two, two more for the profiles.
INFALL_GROUPS = {"13.6-13.8": (13.6, 13.8), "14.1-14.3": (14.1, 14.3), "14.4-14.6": (14.4, 14.6),
                 ">=14.7": (14.7, 16.0)}
#: Comoving shells of the issue [h^-1 Mpc] (2-5 overlaps the others).
INFALL_SHELLS = {"1-2": (1.0, 2.0), "2-3": (2.0, 3.0), "3-5": (3.0, 5.0), "2-5": (2.0, 5.0)}
#: Radial bins of the infall profiles [comoving h^-1 Mpc].
PROFILE_EDGES = np.array([0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.5, 8.0])
#: At most this many clusters per mass bin and box (random, fixed seed) enter the infall averages.
MAX_CLUSTERS_PER_BOX = 2000


def forbid_simulation():
    """Make any N-body run raise: for measuring boxes that must already be cached."""
    def _refuse(*args, **kwargs):
        raise RuntimeError("an N-body run was about to start: the data home does not hold these boxes "
                           "(check --data-home and --mesh).")
    skcluster.simulate.run_particle_mesh = _refuse


def build_catalog(data_home, mesh=None, n_jobs=1, **params):
    """The default catalogue (seed 0) with the boxes of ``data_home``; ``mesh=None``: the package default."""
    return make_mock_catalog(random_state=0, n_jobs=n_jobs, data_home=data_home, mesh=mesh, **params)


def load_boxes(cat, data_home):
    """The catalogue's N-body snapshots and 3D galaxy boxes, redrawn with the catalogue's seeds.

    Returns ``model, snapshots, boxes``: per box the cached snapshot
    (:func:`simulate_snapshot`) and the output of
    :func:`skcluster.datasets._boxes.simulate_box` (candidate halos >=
    ``min_log_mass`` and every galaxy, ``host_id`` the candidate row or -1),
    the very galaxies the catalogue observed.
    """
    p = cat.params
    hod = _resolve_hod(p["hod"])
    model = _halo_model(p["cosmology"], p["redshift"], None, None)
    mesh = check_nbody_params("nbody", n_particles=p["n_particles"], mesh=p["mesh"], n_steps=p["n_steps"],
                              box_size=p["box_size"])
    nbody = _nbody_kwargs(p["n_particles"], mesh, p["n_steps"], data_home, True, hod, model)
    children = np.random.SeedSequence(int(check_random_state(0).randint(0, 2**31 - 1))).spawn(
        p["n_realizations"] + 1)
    snaps, boxes = [], []
    for r in range(p["n_realizations"]):
        boxes.append(simulate_box(children[r], model, hod, simulator="nbody", box_size=p["box_size"],
                                  min_log_mass=p["min_log_mass"], anisotropy=p["anisotropy"],
                                  velocity_bias=p["velocity_bias"], triaxial=p["triaxial"],
                                  concentration_scatter=p["concentration_scatter"], cell_size=p["cell_size"],
                                  halo_velocity_dispersion=p["halo_velocity_dispersion"], nbody=nbody))
        snap = simulate_snapshot(model.colossus, redshift=model.redshift, box_size=p["box_size"],
                                 seed=int(children[r].generate_state(1)[0]), **nbody)
        if not snap["cached"]:
            raise RuntimeError("a snapshot of the catalogue was not in the cache")
        snaps.append(snap)
    return model, snaps, boxes


def halofit(cc, k, z):
    """Takahashi et al. (2012) halofit P(k) [(h^-1 Mpc)^3] from colossus' linear P(k) (flat LCDM)."""
    from scipy.optimize import brentq

    kk = np.logspace(-4, 3, 4000)
    d2 = kk**3 * cc.matterPowerSpectrum(kk, z) / (2 * np.pi**2)

    def sigma2_gauss(r):
        return np.trapezoid(d2 * np.exp(-(kk * r) ** 2), np.log(kk))

    rnl = brentq(lambda r: sigma2_gauss(r) - 1.0, 0.01, 20.0)
    eps = 1e-3
    neff = -3.0 - (np.log(sigma2_gauss(rnl * (1 + eps))) - np.log(sigma2_gauss(rnl * (1 - eps)))) / (2 * eps)
    y = (kk * rnl) ** 2
    integ = lambda p: np.trapezoid(d2 * p * np.exp(-y), np.log(kk))  # noqa: E731
    # C = -d^2 ln sigma^2 / d ln R^2 from Gaussian-filter moments (sigma = 1 at R_nl)
    c = integ(-2 * y) ** 2 - integ(4 * y**2 - 4 * y)
    om = cc.Om(z)
    an = 10 ** (1.5222 + 2.8553 * neff + 2.3706 * neff**2 + 0.9903 * neff**3 + 0.2250 * neff**4 - 0.6038 * c)
    bn = 10 ** (-0.5642 + 0.5864 * neff + 0.5716 * neff**2 - 1.5474 * c)
    cn = 10 ** (0.3698 + 2.0404 * neff + 0.8161 * neff**2 + 0.5869 * c)
    gamma = 0.1971 - 0.0843 * neff + 0.8460 * c
    alpha = abs(6.0835 + 1.3373 * neff - 0.1959 * neff**2 - 5.5274 * c)
    beta = 2.0379 - 0.7354 * neff + 0.3157 * neff**2 + 1.2490 * neff**3 + 0.3980 * neff**4 - 0.1682 * c
    mu, nu = 0.0, 10 ** (5.2105 + 3.6902 * neff)
    f1, f2, f3 = om**-0.0307, om**-0.0585, om**0.0743
    dl = k**3 * cc.matterPowerSpectrum(k, z) / (2 * np.pi**2)
    yk = k * rnl
    dq = dl * (1 + dl) ** beta / (1 + alpha * dl) * np.exp(-(yk / 4 + yk**2 / 8))
    dh = an * yk ** (3 * f1) / (1 + bn * yk**f2 + (cn * f3 * yk) ** (3 - gamma)) / (1 + mu / yk + nu / yk**2)
    return (dq + dh) * 2 * np.pi**2 / k**3


def power_spectrum(snaps, model, box, n_particles):
    """P(k) of the stored particles against halofit: k, halofit, linear, mean ratio over boxes, its error."""
    z, cc = model.redshift, model.colossus
    ratios = []
    for s in snaps:
        k, pk, _ = matter_power_spectrum(s["particles"]["position"], box, min(256, n_particles * 2))
        with using_colossus(cc):
            hf = halofit(cc, k, z)
        ratios.append(pk / hf)
    ratios = np.array(ratios)
    err = ratios.std(axis=0, ddof=1) / np.sqrt(len(ratios)) if len(ratios) > 1 else np.zeros(len(k))
    with using_colossus(cc):
        lin = cc.matterPowerSpectrum(k, z)
    return {"k": k, "halofit": hf, "linear": lin, "ratio": ratios.mean(axis=0), "ratio_error": err}


def mass_functions(snaps, model, box, edges=np.arange(14.0, 15.26, 0.25)):
    """Counts per bin of FOF masses against Watson et al. (2013), of rank-matched M200c against Tinker08."""
    from colossus.lss import mass_function as cmf

    vol = len(snaps) * box**3
    fof = np.concatenate([np.log10(s["halos"]["n_members"] * s["particle_mass"]) for s in snaps])
    m200 = np.concatenate([rank_matched_masses(s["halos"]["n_members"], model, box**3) for s in snaps])
    grid = np.linspace(edges[0] - 0.1, edges[-1] + 0.4, 400)
    with using_colossus(model.colossus):
        dn = cmf.massFunction(10**grid, model.redshift, mdef="fof", model="watson13", q_out="dndlnM")
    dn = dn * np.log(10)
    cum = np.concatenate([[0], np.cumsum(0.5 * (dn[1:] + dn[:-1]) * np.diff(grid))])
    watson = np.diff(np.interp(edges, grid, cum)) * vol
    tinker = np.array([model.number_density(a, b) for a, b in zip(edges[:-1], edges[1:])]) * vol
    out = {"edges": edges, "volume": vol}
    for name, lm, ref in (("fof", fof, watson), ("m200c", m200, tinker)):
        n = np.histogram(lm, edges)[0]
        out[name] = {"counts": n, "expected": ref, "ratio": n / ref, "poisson_error": np.sqrt(n) / ref}
    return out


def halo_clustering(snaps, model, box, rbins=np.array([4.0, 5.0, 6.3, 8.0, 10.0]), min_log_mass=14.0):
    """Correlation of >= ``min_log_mass`` halos (rank-matched M200c) against b^2 xi_lin; the closest pair."""
    z = model.redshift
    min_sep, bias_w = np.inf, []
    dd_tot, rr_tot = np.zeros(len(rbins) - 1), np.zeros(len(rbins) - 1)
    for s in snaps:
        lm = rank_matched_masses(s["halos"]["n_members"], model, box**3)
        sel = lm >= min_log_mass
        pos = s["halos"]["position"][sel]
        tree = cKDTree(pos, boxsize=box)
        dd_tot += np.diff(tree.count_neighbors(tree, rbins)) / 2.0
        n = len(pos)
        rr_tot += n * (n - 1) / 2.0 * 4 * np.pi / 3 * np.diff(rbins**3) / box**3
        bias_w.append(model.interp("bias", lm[sel]))
        r200 = model.r200c(lm[sel]) * (1 + z)
        pairs = tree.query_pairs(2 * r200.max(), output_type="ndarray")
        if len(pairs):
            d = pos[pairs[:, 0]] - pos[pairs[:, 1]]
            d -= box * np.round(d / box)
            sep = np.linalg.norm(d, axis=1) / (r200[pairs[:, 0]] + r200[pairs[:, 1]])
            min_sep = min(min_sep, float(sep.min()))
    xi = dd_tot / rr_tot - 1
    b = float(np.mean(np.concatenate(bias_w)))
    rmid = np.sqrt(rbins[1:] * rbins[:-1])
    with using_colossus(model.colossus):
        xil = np.array([model.colossus.correlationFunction(r, z) for r in rmid])
    return {"r_edges": rbins, "r": rmid, "xi": xi, "xi_error": (1 + xi) / np.sqrt(np.maximum(dd_tot, 1)),
            "b2_xi_lin": b * b * xil, "ratio": xi / (b * b * xil), "mean_bias": b,
            "closest_pair_over_sum_r200c": min_sep}


def _mean_err(values):
    """Mean over clusters (NaN = no galaxy in the shell: skipped), its standard error and the count used."""
    v = values[np.isfinite(values)]
    if len(v) < 2:
        return float(np.mean(v)) if len(v) else np.nan, np.nan, len(v)
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(len(v))), len(v)


def _ratio(a, ea, b, eb):
    r = a / b
    return float(r), float(abs(r) * np.hypot(ea / a, eb / b))


def galaxy_infall(boxes, model, box, groups=INFALL_GROUPS, shells=INFALL_SHELLS, edges=PROFILE_EDGES,
                  max_per_box=MAX_CLUSTERS_PER_BOX, seed=0):
    """Mean peculiar radial velocity of the galaxies around clusters, averaged per cluster then over clusters.

    For each cluster (candidate halo in a mass bin of ``groups``): the
    galaxies of the box (other halos' NFW members and field galaxies drawn
    from the particles) within comoving shells of the cluster's centre,
    ``v_r = (v_gal - v_cluster) . r_hat``; the mean per cluster, then the
    mean over the clusters with at least one galaxy in the shell and its
    standard error. ``surrounding`` leaves out the cluster's own members (the
    issue's definition), ``all_galaxies`` keeps them. Also the galaxies
    between R200c and 2 R200c (comoving) per cluster.
    """
    rng = np.random.default_rng(seed)
    z = model.redshift
    r_max = max(edges[-1], max(hi for _, hi in shells.values()))
    per = {g: {"log_mass": [], "own": {s: [] for s in shells}, "all": {s: [] for s in shells},
               "profile": [], "n_r200_2r200": []} for g in groups}
    for b in boxes:
        gpos, gvel, host = b["galaxies"]["position"], b["galaxies"]["velocity"], b["galaxies"]["host_id"]
        tree = cKDTree(np.mod(gpos, box), boxsize=box)
        lm = b["halos"]["log_mass"]
        for g, (lo, hi) in groups.items():
            rows = np.flatnonzero((lm >= lo) & (lm < hi))
            if len(rows) > max_per_box:
                rows = np.sort(rng.choice(rows, max_per_box, replace=False))
            cen = np.mod(b["halos"]["position"][rows], box)
            near = tree.query_ball_point(cen, r_max)
            r200 = model.r200c(lm[rows]) * (1 + z)
            for j, i in enumerate(rows):
                idx = np.asarray(near[j], dtype=np.int64)
                d = gpos[idx] - cen[j]
                d -= box * np.round(d / box)
                r = np.linalg.norm(d, axis=1)
                vr = np.sum(d * (gvel[idx] - b["halos"]["velocity"][i]), axis=1) / np.maximum(r, 1e-6)
                other = host[idx] != i
                per[g]["log_mass"].append(lm[i])
                for s, (r0, r1) in shells.items():
                    in_s = (r >= r0) & (r < r1)
                    per[g]["own"][s].append(vr[in_s & other].mean() if np.any(in_s & other) else np.nan)
                    per[g]["all"][s].append(vr[in_s].mean() if np.any(in_s) else np.nan)
                which = np.digitize(r, edges) - 1
                ok = other & (which >= 0) & (which < len(edges) - 1)
                cnt = np.bincount(which[ok], minlength=len(edges) - 1)
                tot = np.bincount(which[ok], weights=vr[ok], minlength=len(edges) - 1)
                per[g]["profile"].append(np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan))
                per[g]["n_r200_2r200"].append(int(np.sum((r >= r200[j]) & (r < 2 * r200[j]))))
    out = {"definition": "comoving shells; mean per cluster of (v_gal - v_cluster) . r_hat, then over "
                         "clusters with >= 1 galaxy in the shell; error = standard error over clusters",
           "profile_edges": edges, "groups": {}}
    for g, d in per.items():
        prof = np.array(d["profile"]).reshape(-1, len(edges) - 1)
        stats = [_mean_err(prof[:, k]) for k in range(prof.shape[1])]
        n2 = np.array(d["n_r200_2r200"], dtype=float)
        if not len(n2):
            n2 = np.array([np.nan])
        out["groups"][g] = {
            "n_clusters": len(d["log_mass"]),
            "median_log_mass": float(np.median(d["log_mass"])) if d["log_mass"] else np.nan,
            "surrounding": {s: dict(zip(("mean", "error", "n_used"), _mean_err(np.array(v))))
                            for s, v in d["own"].items()},
            "all_galaxies": {s: dict(zip(("mean", "error", "n_used"), _mean_err(np.array(v))))
                             for s, v in d["all"].items()},
            "profile_mean": np.array([m for m, _, _ in stats]),
            "profile_error": np.array([e for _, e, _ in stats]),
            "r200c_to_2r200c": {"median_count": float(np.median(n2)), "mean_count": float(n2.mean()),
                                "fraction_with_at_least_1": float(np.mean(n2 >= 1))},
        }
    hi, lo = out["groups"][">=14.7"], out["groups"]["14.1-14.3"]
    for kind in ("surrounding", "all_galaxies"):
        out[f"ratio_high_over_low_{kind}"] = {
            s: dict(zip(("ratio", "error"), _ratio(hi[kind][s]["mean"], hi[kind][s]["error"],
                                                   lo[kind][s]["mean"], lo[kind][s]["error"])))
            for s in shells}
    return out


def particle_infall_stacked(snaps, model, box, shells=np.array([1.0, 2.0, 3.0, 5.0]), max_per_box=300):
    """The earlier measure, kept for continuity: particles stacked over the largest halos of each bin."""
    groups = {"14.1-14.3": (14.1, 14.3), ">=14.7": (14.7, 16.0)}
    vr = {g: [np.zeros(len(shells) - 1), np.zeros(len(shells) - 1)] for g in groups}
    for s in snaps:
        lm = rank_matched_masses(s["halos"]["n_members"], model, box**3)
        ppos, pvel = s["particles"]["position"].astype(float), s["particles"]["velocity"].astype(float)
        ptree = cKDTree(ppos, boxsize=box)
        for g, (lo, hi) in groups.items():
            for i in np.flatnonzero((lm >= lo) & (lm < hi))[:max_per_box]:
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
    mean_vr = {g: v[0] / np.maximum(v[1], 1) for g, v in vr.items()}
    v25 = {g: float(v[0][1:].sum() / max(v[1][1:].sum(), 1)) for g, v in vr.items()}
    return {"definition": "particles of the stored subsample stacked over the first (largest) halos of each "
                          f"bin, at most {max_per_box} per box; comoving shells",
            "shells": shells, "mean_radial_velocity_kms": mean_vr, "mean_radial_velocity_2_5_kms": v25,
            "ratio_2_5": v25[">=14.7"] / v25["14.1-14.3"],
            "ratio_high_over_low": mean_vr[">=14.7"] / mean_vr["14.1-14.3"]}


def phase_space_examples(boxes, model, box, cosmology, targets=(14.2, 14.6, 15.0), aperture=1.6, v_cut=2200.0,
                         infall_radius=5.0):
    """Cylinders (along z) around the first box's clusters closest in mass to ``targets``, galaxies classed.

    ``kind``: 0 member (inside R200c), 1 infall (outside R200c, within
    ``infall_radius`` comoving in 3D), 2 field (beyond).
    """
    b = boxes[0]
    lm = b["halos"]["log_mass"]
    out = []
    for t in targets:
        i = int(np.argmin(np.abs(lm - t)))
        cen, vel = b["halos"]["position"][i], b["halos"]["velocity"][i]
        (obs,), (idx,) = select_cylinders(b["galaxies"]["position"], b["galaxies"]["velocity"], [cen], [vel],
                                          [0.0, 0.0, 1.0], box_size=box, redshift=model.redshift,
                                          aperture=aperture, v_cut=v_cut, cosmology=cosmology)
        d = b["galaxies"]["position"][idx] - cen
        d -= box * np.round(d / box)
        r3 = np.linalg.norm(d, axis=1)
        r200 = float(model.r200c(lm[i]) * (1 + model.redshift))
        inside = (b["galaxies"]["host_id"][idx] == i) | (r3 < r200)
        kind = np.where(inside, 0, np.where(r3 < infall_radius, 1, 2))
        out.append({"log_mass": float(lm[i]), "r200c_comoving": r200,
                    "r_proj": np.hypot(obs[:, 0], obs[:, 1]), "v_los": obs[:, 2], "kind": kind})
    return out


def _dispersions(X):
    return np.array([np.std(x[:, 2], ddof=1) if len(x) > 1 else np.nan for x in X])


def fit_msigma(log_mass, sigma, efunc, lo=14.5):
    """OLS of log10 sigma on log10[E(z) M / 1e15] above ``lo``: (sigma_15 [km/s], alpha)."""
    sel = (log_mass >= lo) & np.isfinite(sigma) & (sigma > 0)
    slope, icpt = np.polyfit(np.log10(efunc * 10 ** log_mass[sel] / 1e15), np.log10(sigma[sel]), 1)
    return float(10**icpt), float(slope)


def msigma_scatter(tr_X, tr_y, te_X, te_y, efunc):
    """Fit M-sigma on training clusters >= 10^14.5, invert it on the test sample: (alpha, scatter [dex])."""
    s_tr, s_te = _dispersions(tr_X), _dispersions(te_X)
    s15, alpha = fit_msigma(tr_y, s_tr, efunc)
    keep = np.isfinite(s_te) & (s_te > 0)
    pred = 15.0 - np.log10(efunc) + (np.log10(s_te[keep]) - np.log10(s15)) / alpha
    return alpha, float(np.std(pred - te_y[keep]))


def members_and_msigma(cat, model):
    """Evrard et al. (2008) fit of all true members, richness at 10^14.17, M-sigma pure / contaminated."""
    tr, te = cat.train, cat.test
    efunc = model.efunc
    y_all = np.concatenate([tr.y, te.y])
    s15, alpha = fit_msigma(y_all, _dispersions(list(tr.X_pure) + list(te.X_pure)), efunc)
    near = np.abs(te.y - 14.17) < 0.05
    a_c, sc_c = msigma_scatter(tr.X, tr.y, te.X, te.y, efunc)
    a_p, sc_p = msigma_scatter(tr.X_pure, tr.y, te.X_pure, te.y, efunc)
    return {
        "evrard08_members": {"sigma_15": s15, "alpha": alpha, "reference": [1082.9, 0.3361]},
        "richness": {"test_median_log_mass": float(np.median(te.y)),
                     "median_true_richness_at_14.17": float(np.median(te.n_members[near])),
                     "median_richness_at_14.17": float(np.median(te.richness[near])),
                     "n_train": len(tr), "n_test": len(te)},
        "msigma": {"alpha_contaminated": a_c, "alpha_pure": a_p, "test_scatter_contaminated": sc_c,
                   "test_scatter_pure": sc_p,
                   "paper": {"alpha": 0.254, "scatter_pure": 0.193, "scatter_contaminated": 0.316}},
    }


def msigma_points(cat, model):
    """Training sample's x = log10[E(z) M/1e15], log10 sigma pure and contaminated, fits above 10^14.5."""
    tr, e = cat.train, model.efunc
    s_p, s_c = _dispersions(tr.X_pure), _dispersions(tr.X)
    return {"x": np.log10(e * 10**tr.y / 1e15), "log_sigma_pure": np.log10(s_p), "log_sigma_contaminated":
            np.log10(s_c), "fit_pure": fit_msigma(tr.y, s_p, e), "fit_contaminated": fit_msigma(tr.y, s_c, e),
            "x_cut": float(np.log10(e * 10**14.5 / 1e15))}


def jsonable(obj, digits=4):
    """Nested dicts of arrays and numpy scalars as lists and floats of ``digits`` significant digits."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v, digits) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v, digits) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist(), digits)
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        x = float(obj)
        return None if not np.isfinite(x) else float(f"{x:.{digits}g}")
    return obj
