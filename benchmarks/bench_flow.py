"""Benchmark FlowRegressor (affine stack and Gaussian mixture) on the built-in mock.

Protocol (Kodi Ramanah et al. 2020 on the project's own mock):

- data: the contaminated training sample of ``make_mock_catalog`` (roughly
  flat in log10 M200c) and its test sample (halo mass function, 14-15, three
  lines of sight per halo, halos disjoint from training);
- features: ``PhaseSpaceKDE(coords='rv', grid_shape=(50, 50), bandwidth=0.15)``
  images (KR 2020), computed once and flattened (``--grid`` and
  ``--bandwidth`` change them; CNN2D's images in bench_cnn.py are 48 x 48 at
  bandwidth 0.25);
- conditioner: the paper's MLP (``--conditioner mlp``, default) or the
  Ho et al. (2019) CNN2D layers (``--conditioner ho2019``: flattened images
  passed with ``image_shape``, v_los-flip augmentation by default, Adam
  ``--learning-rate``);
- grouped K-fold cross-validation on the training sample
  (``GroupKFold(n_folds)`` by halo id, no shuffling: the same folds as any
  other benchmark using GroupKFold on this catalogue); inside each fold 10% of
  the training halos are held out for early stopping (``validation_data``),
  never the evaluation clusters;
- out-of-fold posterior medians and intervals of every training cluster give
  the "overall" and "14-15" (true log M in [14, 15]) residual summaries
  (Ho et al. 2019 Table 2) and coverage; the fold-0 model also predicts the
  catalogue's test sample;
- coverage of central 68% and 95% intervals, the coverage curve, TARP
  expected coverage (from 500 posterior draws), and wall-clock training and
  prediction times with the load average.

Usage (from the repository root)::

    python benchmarks/bench_flow.py --out benchmarks/results/flow.json
    python benchmarks/bench_flow.py --quick --out benchmarks/results/flow_quick.json
    python benchmarks/bench_flow.py --catalog mock.h5 ...   # a catalogue saved by save_catalog
    python benchmarks/bench_flow.py --conditioner ho2019 --densities mixture --grid 48 48 --bandwidth 0.25 \
        --feature-scaling global --learning-rate 1e-3 --out benchmarks/results/flow_ho2019.json

Run once per backend (``KERAS_BACKEND=jax`` or ``tensorflow``); the JSON
records the backend, the exact command and the machine load.
"""

import argparse
import os
import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import GroupKFold, GroupShuffleSplit

from _results import command, machine, write_json

ROOT = Path(__file__).resolve().parents[1]
LEVELS = np.round(np.arange(0.05, 1.0, 0.05), 2)


def load_catalog_data(args):
    """(train X, y, groups), (test X, y, groups) and a description of the source."""
    try:
        from skcluster.datasets import TINY_MOCK_PARAMS, load_catalog, make_mock_catalog
    except ImportError:
        make_mock_catalog = None
    if make_mock_catalog is not None:
        if args.catalog:
            cat = load_catalog(args.catalog)
            how = f"skcluster.datasets.load_catalog({args.catalog!r})"
        else:
            params = dict(TINY_MOCK_PARAMS) if args.quick else {}
            cat = make_mock_catalog(**params, random_state=args.seed)
            how = f"skcluster.datasets.make_mock_catalog(**{params!r}, random_state={args.seed})"
        tr, te = cat.train, cat.test
        return ((list(tr.X), np.asarray(tr.y), np.asarray(tr.groups)),
                (list(te.X), np.asarray(te.y), np.asarray(te.groups)),
                {"source": how, "params": cat.params})
    from skcluster.testing import make_toy_clusters

    n = 1500 if args.quick else 6000
    X, y, g = make_toy_clusters(n, n_galaxies=(10, 80), log_mass_range=(13.7, 15.2), interloper_fraction=0.3,
                                n_halos=n // 3, random_state=args.seed)
    Xt, yt, gt = make_toy_clusters(n // 4, n_galaxies=(10, 80), log_mass_range=(14.0, 15.0),
                                   interloper_fraction=0.3, random_state=args.seed + 1)
    return (X, y, g), (Xt, yt, gt + g.max() + 1), {
        "source": "skcluster.testing.make_toy_clusters (FALLBACK: built-in mock not available)"}


def make_flow(density, args):
    from skcluster import FlowRegressor

    if args.conditioner == "ho2019":
        kw = dict(conditioner="ho2019", image_shape=tuple(args.grid), learning_rate=args.learning_rate,
                  epochs=args.epochs, early_stopping=args.patience, dropout=args.dropout)
        if args.augment != "auto":
            kw["augment"] = args.augment == "yes"
    elif args.quick:
        kw = dict(hidden_layer_sizes=(64,), learning_rate=1e-3, epochs=30, early_stopping=5)
    else:
        kw = dict(hidden_layer_sizes=tuple(args.hidden), learning_rate=args.learning_rate, epochs=args.epochs,
                  early_stopping=args.patience)
    return FlowRegressor(density=density, batch_size=100, feature_scaling=args.feature_scaling,
                         random_state=args.seed, **kw)


def residuals(y_true, y_pred):
    from skcluster.metrics import residual_summary

    return {k: (int(v) if k == "n" else float(v)) for k, v in residual_summary(y_true, y_pred).items()}


def calibration(y, intervals, pit, draws):
    from skcluster.metrics import coverage_curve, interval_coverage, tarp_coverage

    _, cov = coverage_curve(y, pit=pit, credibility_levels=LEVELS)
    ecp, alpha = tarp_coverage(y, draws, random_state=0)
    c68, c95 = interval_coverage(y, intervals)
    return {"coverage_68": float(c68), "coverage_95": float(c95),
            "coverage_curve": {"levels": LEVELS.tolist(), "coverage": cov.tolist()},
            "max_abs_coverage_error": float(np.max(np.abs(cov - LEVELS))),
            "tarp_max_abs_ecp_error": float(np.max(np.abs(ecp - alpha)))}


def evaluate(y, median, std, intervals, pit, draws):
    window = (y >= 14.0) & (y <= 15.0)
    out = {"n": int(y.size), "residuals": residuals(y, median),
           "mean_posterior_std_dex": float(np.mean(std)), **calibration(y, intervals, pit, draws)}
    if window.sum() > 2:
        out["14_15"] = {"n": int(window.sum()), "residuals": residuals(y[window], median[window]),
                        **calibration(y[window], intervals[window], pit[window], draws[:, window])}
    return out


def predict_all(flow, F, y):
    t0 = time.perf_counter()
    median, std = flow.predict(F, return_std=True)
    intervals = flow.predict_interval(F, [0.68, 0.95])
    pit = flow.predict_cdf(F, y)
    draws = flow.sample(F, n_samples=500, random_state=0)
    return median, std, intervals, pit, draws, time.perf_counter() - t0


def run_density(density, F, y, g, Ft, yt, args):
    n = len(y)
    median, std, pit = np.empty(n), np.empty(n), np.empty(n)
    intervals, draws = np.empty((n, 2, 2)), np.empty((500, n))
    folds = []
    test_eval = None
    for k, (train, held) in enumerate(GroupKFold(n_splits=args.n_folds).split(F, y, g)):
        fit_idx, val_idx = next(GroupShuffleSplit(n_splits=1, test_size=0.1, random_state=args.seed)
                                .split(train, groups=g[train]))
        fit_idx, val_idx = train[fit_idx], train[val_idx]
        flow = make_flow(density, args)
        load_before = os.getloadavg()
        t0, c0 = time.perf_counter(), time.process_time()
        flow.fit(F[fit_idx], y[fit_idx], validation_data=(F[val_idx], y[val_idx]))
        t_fit, c_fit = time.perf_counter() - t0, time.process_time() - c0
        m, s, iv, p, d, t_pred = predict_all(flow, F[held], y[held])
        median[held], std[held], intervals[held], pit[held], draws[:, held] = m, s, iv, p, d
        folds.append({"fold": k, "n_fit": int(fit_idx.size), "n_val": int(val_idx.size),
                      "n_eval": int(held.size),
                      "fit_seconds": t_fit, "fit_cpu_seconds": c_fit, "epochs_run": int(flow.n_iter_),
                      "best_val_nll": float(np.min(flow.history_["val_loss"])),
                      "predict_seconds": t_pred, "predict_us_per_cluster": 1e6 * t_pred / held.size,
                      "loadavg_before": load_before, "loadavg_after": os.getloadavg()})
        print(f"  {density} fold {k}: fit {t_fit:.1f} s, {flow.n_iter_} epochs, eps std "
              f"{np.std(m - y[held]):.3f} dex", flush=True)
        if k == 0 and Ft is not None:
            mt, st, ivt, pt, dt, _ = predict_all(flow, Ft, yt)
            test_eval = evaluate(yt, mt, st, ivt, pt, dt)
    return {"estimator": repr(make_flow(density, args)), "folds": folds,
            "fit_seconds_best": float(min(f["fit_seconds"] for f in folds)),
            "fit_seconds_total": float(sum(f["fit_seconds"] for f in folds)),
            "out_of_fold": evaluate(y, median, std, intervals, pit, draws),
            "test_sample_fold0_model": test_eval}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--catalog",
                        help="HDF5 catalogue from save_catalog (default: build the default mock)")
    parser.add_argument("--quick", action="store_true", help="tiny mock, small network (smoke run)")
    parser.add_argument("--densities", nargs="+", default=["affine", "mixture"])
    parser.add_argument("--n-folds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--patience", type=int, default=10)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--hidden", type=int, nargs="+", default=[512, 64, 512],
                        help="hidden layer widths of each MLP (the paper: 512 64 512)")
    parser.add_argument("--feature-scaling", default="per_feature", choices=["per_feature", "global", "none"])
    parser.add_argument("--conditioner", default="mlp", choices=["mlp", "ho2019"],
                        help="feature network: the paper's MLP (--hidden) or the Ho 2019 CNN2D layers")
    parser.add_argument("--augment", default="auto", choices=["auto", "yes", "no"],
                        help="v_los-flip augmentation (auto: on for ho2019, off for mlp)")
    parser.add_argument("--dropout", type=float, default=0.25,
                        help="dropout rate of the ho2019 trunk (default: Ho 2019's 0.25, as in flow_ho2019.json)")
    parser.add_argument("--grid", type=int, nargs=2, default=[50, 50], help="PhaseSpaceKDE grid (n_R, n_v)")
    parser.add_argument("--bandwidth", type=float, default=0.15, help="PhaseSpaceKDE bandwidth factor")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "flow.json"))
    args = parser.parse_args(argv)

    import keras

    from skcluster import PhaseSpaceKDE

    t_start, c_start = time.perf_counter(), time.process_time()
    t0 = time.perf_counter()
    (X, y, g), (Xt, yt, gt), info = load_catalog_data(args)
    info["n_train_sample"], info["n_test_sample"] = len(y), len(yt)
    t_data = time.perf_counter() - t0
    kde = PhaseSpaceKDE(coords="rv", grid_shape=tuple(args.grid), bandwidth=args.bandwidth, flatten=True)
    t0 = time.perf_counter()
    F = kde.fit_transform(X)
    Ft = kde.transform(Xt) if len(yt) else None
    t_kde = time.perf_counter() - t0
    print(f"data: {len(y)} training, {len(yt)} test clusters ({t_data:.0f} s); KDE {t_kde:.1f} s", flush=True)

    results = {
        "command": command(__file__),
        "keras_backend": keras.backend.backend(),
        "machine": machine(loadavg_start=os.getloadavg()),
        "data": info, "data_seconds": t_data,
        "features": repr(kde), "kde_seconds": t_kde,
        "protocol": f"GroupKFold({args.n_folds}) by halo on the training sample; 10% of each fold's "
                    "training halos for early stopping; out-of-fold posteriors evaluated; fold-0 model on "
                    "the test sample",
        "densities": {},
    }
    for density in args.densities:
        results["densities"][density] = run_density(density, F, y, g, Ft, yt, args)
        results["machine"]["loadavg_end"] = os.getloadavg()
        results["wall_seconds_total"] = time.perf_counter() - t_start
        results["cpu_seconds_total"] = time.process_time() - c_start
        write_json(args.out, results)
    for density, res in results["densities"].items():
        oof = res["out_of_fold"]
        w = oof.get("14_15", {})
        print(f"{density}: eps std {oof['residuals']['std']:.3f} dex (14-15: "
              f"{w.get('residuals', {}).get('std', float('nan')):.3f}), coverage 68/95 "
              f"{oof['coverage_68']:.3f}/{oof['coverage_95']:.3f}, "
              f"fit {res['fit_seconds_total']:.0f} s total")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
