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

``cnn3d`` (Kodi Ramanah 2021 CNN3D on 40^3 images) needs a catalogue built with
``aperture=4.0`` and refits the CNN once per fold; the paper's configuration
(SDSS-like mock, 4 h^-1 Mpc, 50^3, a prefit CNN and a separate calibration
set) is ``benchmarks/bench_cnn3d_sbi.py``.

Data: the built-in mock (``skcluster.datasets.make_mock_catalog``) when it
is importable, otherwise toy clusters (``skcluster.testing.make_toy_clusters``
with interlopers); the JSON records which.
"""

import argparse
import json
import os
import time
import warnings
from pathlib import Path

import numpy as np

from skcluster.calibration import SBICalibrator
from skcluster.exceptions import OutOfRangeWarning

from _results import command, machine, utc_now, write_json

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
FIGURE = ROOT / "docs" / "_static" / "sbi" / "calibration.png"
LEVELS = np.round(np.arange(0.05, 1.0, 0.05), 2)


# ----------------------------------------------------------------------------- data
def _take(X, y, g, mask):
    idx = np.flatnonzero(mask)
    return [X[i] for i in idx], np.asarray(y)[idx], np.asarray(g)[idx]


def _split_halos(X, y, g, fraction, seed):
    """Hold out ``fraction`` of the halos (all their lines of sight)."""
    halos = np.unique(g)
    rng = np.random.default_rng(seed)
    held = np.isin(g, rng.choice(halos, size=max(1, int(round(fraction * halos.size))), replace=False))
    return _take(X, y, g, ~held), _take(X, y, g, held)


def load_data(catalog_path, quick, seed):
    """Calibration sample, held-out halos of the same (flat) prior, mass-function test sample."""
    try:
        from skcluster.datasets import TINY_MOCK_PARAMS, load_catalog, make_mock_catalog
    except ImportError:
        make_mock_catalog = None
    if make_mock_catalog is not None:
        if catalog_path:
            cat = load_catalog(catalog_path)
            how = (f"skcluster.datasets.load_catalog({catalog_path!r}), a file written by "
                   "save_catalog(make_mock_catalog(**params)) with the params recorded here")
        else:
            params = dict(TINY_MOCK_PARAMS) if quick else {}
            cat = make_mock_catalog(**params, random_state=seed)
            how = f"skcluster.datasets.make_mock_catalog(**{params!r}, random_state={seed})"
        tr, te = cat.train, cat.test
        calib, flat = _split_halos(tr.X, tr.y, tr.groups, 0.25, seed)
        info = {"source": how, "params": cat.params, "n_train_sample": len(tr.y), "n_test_sample": len(te.y),
                "split": ("training sample split by halo: 75% calibration (out-of-fold), 25% held-out "
                          "flat-prior evaluation; the catalogue's test sample (mass function, 14-15) "
                          "evaluated as well")}
        return calib, flat, (list(te.X), np.asarray(te.y), np.asarray(te.groups)), info
    from skcluster.testing import make_toy_clusters

    n = 1500 if quick else 6000
    X, y, groups = make_toy_clusters(
        n, n_galaxies=(10, 80), log_mass_range=(13.7, 15.2), interloper_fraction=0.3,
        n_halos=n // 3, random_state=seed,
    )
    calib, flat = _split_halos(X, y, groups, 0.25, seed)
    return calib, flat, None, {
        "source": "skcluster.testing.make_toy_clusters (FALLBACK: built-in mock not available)",
        "n_clusters": n, "interloper_fraction": 0.3, "log_mass_range": [13.7, 15.2],
    }


# ----------------------------------------------------------------------------- models
def log_sigma(X):
    """log10 velocity dispersion [km/s] of each cluster as a feature column."""
    return np.array([[np.log10(np.std(c[:, 2], ddof=1))] for c in X])


def make_estimator(name, quick, seed):
    """(point estimator, description, featuriser or None); the featuriser runs once, before SBI."""
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    if name == "msigma":
        try:
            from skcluster import MSigma

            return MSigma(), "skcluster.MSigma()", None
        except (ImportError, AttributeError):
            return (make_pipeline(FunctionTransformer(log_sigma), LinearRegression()),
                    "FALLBACK log10(sigma_v) + LinearRegression (MSigma not available)", None)
    if name == "cnn2d":
        from skcluster import CNNRegressor, PhaseSpaceKDE

        epochs = 3 if quick else 20
        return (CNNRegressor(epochs=epochs, random_state=seed),
                f"PhaseSpaceKDE(coords='rv') images once, then CNNRegressor(epochs={epochs}) (Ho 2019 CNN2D)",
                PhaseSpaceKDE(coords="rv"))
    if name == "cnn3d":
        from skcluster import CNNRegressor, PhaseSpaceKDE

        epochs = 3 if quick else 30
        grid = (40, 40, 40)  # the CNN3D needs >= 36 bins per axis; the paper used 50^3
        kde = PhaseSpaceKDE(coords="xyv", grid_shape=grid, aperture=4.0, v_cut=2200.0, bandwidth=0.175)
        return (CNNRegressor(epochs=epochs, validation_fraction=0.25, early_stopping=5, random_state=seed),
                f"PhaseSpaceKDE(coords='xyv', grid {grid}, aperture 4, bandwidth 0.175) images once, then "
                f"CNNRegressor(epochs={epochs}, validation_fraction=0.25, early_stopping=5) (KR 2021 CNN3D)",
                kde)
    raise ValueError(f"unknown estimator {name!r}; use msigma, cnn2d or cnn3d")


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
def plot(results, result_files, figure):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results)
    result_files = list(result_files)
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2))
    sbi = results[names[0]][0]
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
    styles = {"heldout_flat_prior": ("o-", "held-out halos, flat prior"),
              "test_mass_function": ("s--", "test sample 14-15, mass function")}
    for i, path in enumerate(result_files):
        saved = json.loads(Path(path).read_text())
        name = Path(path).stem.replace("sbi_", "")
        for key, ev in saved["evaluations"].items():
            marker, label = styles[key]
            curve = ev["coverage_curve"]
            ax.plot(curve["levels"], curve["coverage"], marker, ms=3, color=f"C{i}", label=f"{name}: {label}")
    ax.set_xlabel("credibility level")
    ax.set_ylabel("fraction of true masses inside")
    ax.set_title("coverage of central credible intervals")
    ax.legend(fontsize=8)
    fig.tight_layout()
    figure.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(figure, dpi=110)
    print(f"wrote {figure}")


# ----------------------------------------------------------------------------- main
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--estimators", default="msigma", help="comma-separated: msigma,cnn2d")
    parser.add_argument("--catalog", default=None, help="HDF5 catalogue from save_catalog (else simulate)")
    parser.add_argument("--quick", action="store_true", help="small data, for a smoke run")
    parser.add_argument("--plot", action="store_true", help="write docs/_static/sbi/calibration.png")
    parser.add_argument("--cv", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    run_command = command(__file__)
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    calib, flat, test, data_info = load_data(args.catalog, args.quick, args.seed)
    data_info["load_seconds"] = time.perf_counter() - t0
    Xc, yc, gc = calib
    print(f"data: {data_info['source']}; calibration {len(yc)}, held-out flat {len(flat[1])}, "
          f"mass-function test {0 if test is None else len(test[1])}")
    plotted = {}
    for name in args.estimators.split(","):
        est, desc, featuriser = make_estimator(name, args.quick, args.seed)
        t0 = time.perf_counter()
        prepare = (lambda X: X) if featuriser is None else featuriser.fit(Xc).transform  # noqa: E731
        Fc = prepare(Xc)
        t_features = time.perf_counter() - t0
        sbi = SBICalibrator(est, cv=args.cv)
        t0 = time.perf_counter()
        sbi.fit(Fc, yc, groups=gc)
        t_fit = time.perf_counter() - t0
        evaluations, arrays = {}, {}
        for key, sample in (("heldout_flat_prior", flat), ("test_mass_function", test)):
            if sample is not None:
                evaluations[key], arrays[key] = evaluate(sbi, prepare(sample[0]), sample[1])
        out = {
            "benchmark": "SBICalibrator coverage and residuals on held-out halos",
            "command": run_command, "estimator": desc,
            "sbi": {"cv": args.cv, "bandwidth": sbi.bandwidth, "grid_size": sbi.grid_size},
            "data": data_info, "n_calibration": int(len(yc)),
            "feature_seconds_calibration_set": t_features,
            "fit_seconds_including_cv": t_fit, "evaluations": evaluations,
            "loadavg_before": load_before, "loadavg_after": os.getloadavg(),
            "machine": machine(),
            "date_utc": utc_now(),
        }
        path = RESULTS / f"sbi_{name}{'_quick' if args.quick else ''}.json"
        write_json(path, out)
        for key, m in evaluations.items():
            print(f"{name} [{key}]: coverage 68% {m['coverage_68']:.3f}, 95% {m['coverage_95']:.3f}, "
                  f"point std {m['residuals_point']['std']:.3f} dex, posterior-median std "
                  f"{m['residuals_posterior_median']['std']:.3f} dex")
        print(f"{name}: fit {t_fit:.1f} s -> {path}")
        plotted[name] = (sbi, arrays)
    if args.plot:
        files = sorted(p for p in RESULTS.glob("sbi_*.json") if p.stem.endswith("_quick") == args.quick)
        plot(plotted, files, FIGURE)


if __name__ == "__main__":
    main()
