"""Benchmark SBICalibrator around point estimators: coverage, residuals, timing.

Calibrates SBI (Kodi Ramanah et al. 2021) on a training sample by grouped
out-of-fold predictions and evaluates on a test sample of disjoint halos:
coverage of central credible intervals over credibility levels (KR 2021
Fig. 6), residual summaries (Ho et al. 2019 Table 2) of the raw point
predictions and of the posterior medians, and fit/predict times. Writes
``benchmarks/results/sbi_<estimator>.json`` and, with ``--plot``, the
calibration figure ``docs/_static/sbi/calibration.png``.

Usage::

    python benchmarks/bench_sbi.py --estimators msigma [--plot] [--quick]

Data: the built-in mock (``skcluster.datasets.make_mock_catalog``) when it
is importable, otherwise toy clusters (``skcluster.testing.make_toy_clusters``
with interlopers); the JSON records which.
"""

import argparse
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from skcluster.calibration import SBICalibrator
from skcluster.exceptions import OutOfRangeWarning

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
FIGURE = ROOT / "docs" / "_static" / "sbi" / "calibration.png"
LEVELS = np.round(np.arange(0.05, 1.0, 0.05), 2)


# ----------------------------------------------------------------------------- data
def load_data(quick, seed):
    """Training (flat in log M) and test samples with disjoint halos, and a description."""
    try:
        from skcluster.datasets import make_mock_catalog  # noqa: F401
    except ImportError:
        make_mock_catalog = None
    if make_mock_catalog is not None:
        return mock_samples(make_mock_catalog, quick=quick, random_state=seed)
    from skcluster.testing import make_toy_clusters

    n = 1500 if quick else 6000
    X, y, groups = make_toy_clusters(
        n, n_galaxies=(10, 80), log_mass_range=(13.7, 15.2), interloper_fraction=0.3,
        n_halos=n // 3, random_state=seed,
    )
    halos = np.unique(groups)
    rng = np.random.default_rng(seed)
    test_halos = rng.choice(halos, size=halos.size // 4, replace=False)
    test = np.isin(groups, test_halos)
    pick = lambda mask: ([X[i] for i in np.flatnonzero(mask)], y[mask], groups[mask])  # noqa: E731
    return pick(~test), pick(test), {
        "source": "skcluster.testing.make_toy_clusters (FALLBACK: built-in mock not available)",
        "n_clusters": n, "interloper_fraction": 0.3, "log_mass_range": [13.7, 15.2],
    }


def mock_samples(make_mock_catalog, *, quick, random_state):
    raise NotImplementedError("filled in when make_mock_catalog lands")


# ----------------------------------------------------------------------------- models
def log_sigma(X):
    """log10 velocity dispersion [km/s] of each cluster as a feature column."""
    return np.array([[np.log10(np.std(c[:, 2], ddof=1))] for c in X])


def make_estimator(name, quick):
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    if name == "msigma":
        try:
            from skcluster import MSigma

            return MSigma(), "skcluster.MSigma()"
        except (ImportError, AttributeError):
            return (make_pipeline(FunctionTransformer(log_sigma), LinearRegression()),
                    "FALLBACK log10(sigma_v) + LinearRegression (MSigma not available)")
    if name == "cnn2d":
        from skcluster import CNNRegressor, PhaseSpaceKDE

        cnn = CNNRegressor(epochs=5 if quick else 20, random_state=0)
        return make_pipeline(PhaseSpaceKDE(), cnn), "PhaseSpaceKDE() + CNNRegressor()"
    raise ValueError(f"unknown estimator {name!r}; use msigma or cnn2d")


# ----------------------------------------------------------------------------- metrics
def residual_stats(y_true, y_pred):
    """Ho et al. (2019) Table 2 statistics of eps = y_pred - y_true [dex]."""
    from skcluster.metrics import residual_summary

    return {k: (int(v) if k == "n" else float(v)) for k, v in residual_summary(y_true, y_pred).items()}


def coverage_from_pit(pit, levels):
    from skcluster.metrics import coverage_curve

    return coverage_curve(np.zeros_like(pit), pit=pit, credibility_levels=levels)[1]


def evaluate(sbi, X, y):
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", OutOfRangeWarning)
        point = sbi.estimator_.predict(X)
        median, std = sbi.predict(X, return_std=True)
        intervals = sbi.predict_interval(X, [0.68, 0.95])
        pit = sbi.predict_cdf(X, y)
    t_pred = time.perf_counter() - t0
    n_out = int(np.sum((point < sbi.prediction_range_[0]) | (point > sbi.prediction_range_[1])))
    inside = (y[:, None] >= intervals[:, 0]) & (y[:, None] <= intervals[:, 1])
    cov = coverage_from_pit(pit, LEVELS)
    window = (y >= 14.0) & (y <= 15.0)
    half = 0.5 * (intervals[:, 1, 0] - intervals[:, 0, 0])
    return {
        "n_test": int(y.size),
        "coverage_68": float(inside[:, 0].mean()), "coverage_95": float(inside[:, 1].mean()),
        "coverage_curve": {"levels": LEVELS.tolist(), "coverage": cov.tolist()},
        "max_abs_coverage_error": float(np.max(np.abs(cov - LEVELS))),
        "mean_half_width_68_dex": float(half.mean()),
        "mean_posterior_std_dex": float(std.mean()),
        "residuals_point": residual_stats(y, point),
        "residuals_posterior_median": residual_stats(y, median),
        "residuals_point_14_15": residual_stats(y[window], point[window]) if window.sum() > 2 else None,
        "n_out_of_range": n_out, "n_warnings": len(caught),
        "predict_seconds": t_pred,
    }, {"point": point, "median": median, "intervals": intervals, "pit": pit}


# ----------------------------------------------------------------------------- plot
def plot(results, FIGURE):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results)
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2))
    sbi, (_, y_test), arrays = results[names[0]]
    d_cal, y_cal = sbi.calibration_predictions_, sbi.calibration_targets_
    dg = np.linspace(*sbi.prediction_range_, 120)
    mg = np.linspace(y_cal.min() - 0.3, y_cal.max() + 0.3, 120)
    D, M = np.meshgrid(dg, mg)
    joint = sbi.joint_pdf(D.ravel(), M.ravel()).reshape(D.shape)
    ax = axes[0]
    ax.pcolormesh(D, M, joint, shading="auto", cmap="Blues")
    ax.plot(d_cal, y_cal, ",", color="k", alpha=0.3)
    for di in np.quantile(d_cal, [0.15, 0.5, 0.85]):
        ax.axvline(di, color="C3", lw=0.8, ls="--")
    ax.set_xlabel(r"out-of-fold prediction $\tilde d$ [log$_{10}$ h$^{-1}$ M$_\odot$]")
    ax.set_ylabel(r"true log$_{10}$ M$_{200c}$ [h$^{-1}$ M$_\odot$]")
    ax.set_title(f"joint KDE P(d, M) ({names[0]})")
    ax = axes[1]
    grid = np.linspace(mg[0], mg[-1], 400)
    for di in np.quantile(d_cal, [0.15, 0.5, 0.85]):
        row = sbi.joint_pdf(np.full_like(grid, di), grid)
        ax.plot(grid, row / np.trapezoid(row, grid), label=rf"$\tilde d$ = {di:.2f}")
    ax.set_xlabel(r"log$_{10}$ M$_{200c}$ [h$^{-1}$ M$_\odot$]")
    ax.set_ylabel("posterior density [dex$^{-1}$]")
    ax.set_title("slices = posteriors")
    ax.legend(fontsize=8)
    ax = axes[2]
    ax.plot([0, 1], [0, 1], "k--", lw=0.8, label="ideal")
    for name in names:
        r = results[name][2]
        ax.plot(LEVELS, coverage_from_pit(r["pit"], LEVELS), "o-", ms=3, label=name)
    ax.set_xlabel("credibility level")
    ax.set_ylabel("fraction of true masses inside")
    ax.set_title("calibration on held-out halos")
    ax.legend(fontsize=8)
    fig.tight_layout()
    FIGURE.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(FIGURE, dpi=110)
    print(f"wrote {FIGURE}")


# ----------------------------------------------------------------------------- main
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--estimators", default="msigma", help="comma-separated: msigma,cnn2d")
    parser.add_argument("--quick", action="store_true", help="small data, for a smoke run")
    parser.add_argument("--plot", action="store_true", help="write docs/_static/sbi/calibration.png")
    parser.add_argument("--cv", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    command = "python " + " ".join([os.path.relpath(__file__, ROOT), *sys.argv[1:]])
    load_before = os.getloadavg()
    train, test, data_info = load_data(args.quick, args.seed)
    Xtr, ytr, gtr = train
    Xte, yte, _ = test
    print(f"data: {data_info['source']}; train {len(ytr)}, test {len(yte)}")
    plotted = {}
    for name in args.estimators.split(","):
        est, desc = make_estimator(name, args.quick)
        sbi = SBICalibrator(est, cv=args.cv)
        t0 = time.perf_counter()
        sbi.fit(Xtr, ytr, groups=gtr)
        t_fit = time.perf_counter() - t0
        metrics, arrays = evaluate(sbi, Xte, yte)
        out = {
            "benchmark": "SBICalibrator coverage and residuals on held-out halos",
            "command": command, "estimator": desc, "sbi": {"cv": args.cv, "bandwidth": sbi.bandwidth,
                                                           "grid_size": sbi.grid_size},
            "data": data_info, "n_train": int(len(ytr)),
            "fit_seconds_including_cv": t_fit, **metrics,
            "loadavg_before": load_before, "loadavg_after": os.getloadavg(),
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                        "platform": platform.platform()},
            "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"sbi_{name}{'_quick' if args.quick else ''}.json"
        path.write_text(json.dumps(out, indent=1))
        print(f"{name}: coverage 68% {metrics['coverage_68']:.3f}, 95% {metrics['coverage_95']:.3f}, "
              f"point std {metrics['residuals_point']['std']:.3f} dex, fit {t_fit:.1f} s -> {path}")
        plotted[name] = (sbi, (Xte, yte), arrays)
    if args.plot:
        plot(plotted, FIGURE)


if __name__ == "__main__":
    main()
