"""Benchmark CNN3D + SBI in the configuration of Kodi Ramanah et al. (2021).

The SDSS-like flux-limited mock (:func:`skcluster.datasets.make_sdss_mock_catalog`,
4 h^-1 Mpc cylinders, |v_los| <= 2200 km/s) is split by halo into a training
set (its last ``--validation-fraction`` is the early-stopping set, inside
``CNNRegressor``), a disjoint calibration set for
:class:`~skcluster.SBICalibrator` (``cv="prefit"``: the calibration set is
never the early-stopping set) and an evaluation set of further halos (flat
prior, as the calibration set); the catalogue's mass-function test sample,
without the halos of the training and calibration sets, is scored as well. Images are
``PhaseSpaceKDE(coords="xyv", aperture=4, bandwidth=0.175)`` on a
``--grid``^3 grid (the paper: 50^3), made once and shared by all steps.

Writes ``benchmarks/results/cnn3d_sbi_sdss.json`` (residual summaries of the
point predictions and of the posterior medians, coverage curves, timings,
memory) and the calibration figure ``docs/_static/sbi/cnn3d_calibration.png``.

Usage::

    KERAS_BACKEND=tensorflow python benchmarks/bench_cnn3d_sbi.py [--grid 50] [--n-train 6000] [--epochs 12]

TensorFlow is the backend to use: JAX takes about 14 s per 3D step here.
"""

import argparse
import os
import resource
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin

from _results import command, machine, utc_now, write_json

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
FIGURE = ROOT / "docs" / "_static" / "sbi" / "cnn3d_calibration.png"
LEVELS = np.round(np.arange(0.05, 1.0, 0.05), 2)


def split_halos(groups, fractions, seed):
    """Assign each halo to one of len(fractions) sets; returns the set index of every observation."""
    halos = np.unique(groups)
    rng = np.random.default_rng(seed)
    cut = np.cumsum(fractions)[:-1] / np.sum(fractions)
    which = np.searchsorted(cut, rng.random(halos.size), side="right")
    lookup = dict(zip(halos, which))
    return np.array([lookup[g] for g in groups])


class _Given(RegressorMixin, BaseEstimator):
    """Returns its one input column: lets the calibrated posteriors take precomputed CNN predictions."""

    def fit(self, X, y=None):
        self.fitted_ = True
        return self

    def predict(self, X):
        return np.asarray(X, dtype=float)[:, 0]


def evaluate(sbi, F, y):
    from skcluster import SBICalibrator
    from skcluster.exceptions import OutOfRangeWarning
    from skcluster.metrics import coverage_curve, residual_summary

    t0 = time.perf_counter()
    point = sbi.estimator_.predict(F)  # once: every posterior method would run the CNN again
    seconds_cnn = time.perf_counter() - t0
    # the same calibration (predictions, masses, bandwidth, grid) around the precomputed predictions
    same = SBICalibrator.from_predictions(_Given().fit(None), sbi.calibration_predictions_,
                                          sbi.calibration_targets_, bandwidth=sbi.bandwidth,
                                          grid_size=sbi.grid_size)
    D = point[:, None]
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", OutOfRangeWarning)
        median, std = same.predict(D, return_std=True)
        intervals = same.predict_interval(D, [0.68, 0.95])
        pit = same.predict_cdf(D, y)
    seconds = time.perf_counter() - t0
    inside = (y[:, None] >= intervals[:, 0]) & (y[:, None] <= intervals[:, 1])
    cov = coverage_curve(np.zeros_like(pit), pit=pit, credibility_levels=LEVELS)[1]
    summary = lambda a, b: {k: (int(v) if k == "n" else float(v)) for k, v in residual_summary(a, b).items()}  # noqa: E731
    return {
        "n": int(y.size),
        "coverage_68": float(inside[:, 0].mean()), "coverage_95": float(inside[:, 1].mean()),
        "coverage_curve": {"levels": LEVELS.tolist(), "coverage": np.asarray(cov).tolist()},
        "max_abs_coverage_error": float(np.max(np.abs(np.asarray(cov) - LEVELS))),
        "mean_posterior_std_dex": float(np.mean(std)),
        "residuals_point": summary(y, point),
        "residuals_posterior_median": summary(y, median),
        "n_out_of_range_warnings": len(caught),
        "cnn_predict_ms_per_cluster": 1e3 * seconds_cnn / max(y.size, 1),
        "posterior_seconds": seconds,
    }


def plot(sbi, evaluations, figure):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9.6, 3.6))
    ax0, ax1 = fig.subplots(1, 2)
    d, m = sbi.calibration_predictions_, sbi.calibration_targets_
    ax0.scatter(m, d, s=2, alpha=0.3, color="0.4", label="calibration set")
    lo, hi = np.min(m), np.max(m)
    ax0.plot([lo, hi], [lo, hi], color="k", lw=1, ls=":")
    ax0.set_xlabel("true log10 M200c [h^-1 Msun]")
    ax0.set_ylabel("CNN3D prediction [log10 h^-1 Msun]")
    ax0.legend(fontsize=7)
    ax1.plot([0, 1], [0, 1], color="0.5", lw=1, ls=":")
    for key, style in (("evaluation_flat_prior", "o-"), ("test_mass_function", "s--")):
        if key in evaluations:  # the coverage curves evaluate() computed
            curve = evaluations[key]["coverage_curve"]
            ax1.plot(curve["levels"], curve["coverage"], style, ms=3, label=key.replace("_", " "))
    ax1.set_xlabel("credibility level of the central interval")
    ax1.set_ylabel("fraction of true masses inside")
    ax1.legend(fontsize=7)
    fig.suptitle("CNN3D + SBI, SDSS-like mock, 4 h^-1 Mpc cylinders", fontsize=9)
    fig.tight_layout()
    figure.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(figure, dpi=110)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--grid", type=int, default=50, help="voxels per axis (paper: 50)")
    p.add_argument("--n-train", type=int, default=6000, help="at most this many training observations")
    p.add_argument("--n-calibration", type=int, default=4000, help="at most this many calibration observations")
    p.add_argument("--n-evaluation", type=int, default=2000, help="at most this many evaluation observations")
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--learning-rate", type=float, default=1e-4, help="Adam (paper: 1e-4)")
    p.add_argument("--validation-fraction", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--catalog", default=None, help="an HDF5 catalogue (save_catalog) instead of simulating")
    p.add_argument("--out", default=str(RESULTS / "cnn3d_sbi_sdss.json"))
    p.add_argument("--no-plot", action="store_true")
    p.add_argument("--figure", default=str(FIGURE), help="where the calibration figure goes")
    args = p.parse_args(argv)

    import keras

    from skcluster import CNNRegressor, PhaseSpaceKDE, SBICalibrator
    from skcluster.datasets import load_catalog, make_sdss_mock_catalog

    run_command = command(__file__, keras_backend=keras.backend.backend())
    load_before = os.getloadavg()
    t_start, cpu_start = time.perf_counter(), time.process_time()
    t0 = time.perf_counter()
    cat = load_catalog(args.catalog) if args.catalog else make_sdss_mock_catalog(random_state=args.seed)
    t_catalog = time.perf_counter() - t0
    tr, te = cat.train, cat.test
    rng = np.random.default_rng(args.seed)
    which = split_halos(tr.groups, (0.55, 0.3, 0.15), args.seed)
    caps = (args.n_train, args.n_calibration, args.n_evaluation)
    index = [rng.permutation(np.flatnonzero(which == k))[:cap] for k, cap in enumerate(caps)]
    used_halos = set(np.asarray(tr.groups)[which < 2])  # halos of the training and calibration sets
    test_index = np.array([i for i, g in enumerate(te.groups) if g not in used_halos], dtype=int)
    print(f"catalogue {t_catalog:.0f} s: train {len(tr.y)} obs of {len(np.unique(tr.groups))} halos; "
          f"using train {index[0].size}, calibration {index[1].size}, evaluation {index[2].size}, "
          f"mass-function test {test_index.size}", flush=True)

    kde = PhaseSpaceKDE(coords="xyv", grid_shape=args.grid, aperture=4.0, v_cut=2200.0, bandwidth=0.175)
    t0 = time.perf_counter()
    images = {name: kde.fit_transform([X[i] for i in idx]) for name, X, idx in (
        ("train", tr.X, index[0]), ("calibration", tr.X, index[1]), ("evaluation", tr.X, index[2]),
        ("test", te.X, test_index)) if len(idx)}
    n_images = sum(len(v) for v in images.values())
    t_kde = time.perf_counter() - t0
    print(f"{n_images} images of {args.grid}^3 in {t_kde:.0f} s", flush=True)
    y = {"train": tr.y[index[0]], "calibration": tr.y[index[1]], "evaluation": tr.y[index[2]],
         "test": np.asarray(te.y)[test_index]}

    cnn = CNNRegressor(epochs=args.epochs, learning_rate=args.learning_rate, batch_size=100,
                       validation_fraction=args.validation_fraction, early_stopping=5, random_state=args.seed,
                       verbose=2)
    t0 = time.perf_counter()
    cnn.fit(images["train"], y["train"])
    t_fit = time.perf_counter() - t0
    history = {k: [float(v) for v in vals] for k, vals in cnn.history_.items()} if hasattr(cnn, "history_") else None
    print(f"CNN3D fit {t_fit:.0f} s", flush=True)
    t0 = time.perf_counter()
    sbi = SBICalibrator(cnn, cv="prefit").fit(images["calibration"], y["calibration"])
    t_cal = time.perf_counter() - t0
    evaluations = {}
    for key, name in (("evaluation_flat_prior", "evaluation"), ("test_mass_function", "test")):
        if name in images and len(y[name]) > 2:
            evaluations[key] = evaluate(sbi, images[name], y[name])
            m = evaluations[key]
            print(f"[{key}] n={m['n']}: point std {m['residuals_point']['std']:.3f} median "
                  f"{m['residuals_point']['median']:.3f}; posterior-median std "
                  f"{m['residuals_posterior_median']['std']:.3f}; coverage 68% {m['coverage_68']:.3f}, "
                  f"95% {m['coverage_95']:.3f}", flush=True)
    out = {
        "benchmark": "CNN3D + SBICalibrator on the SDSS-like mock, 4 h^-1 Mpc (Kodi Ramanah et al. 2021)",
        "command": run_command,
        "catalogue": {"builder": (f"load_catalog({args.catalog!r})" if args.catalog
                                  else f"make_sdss_mock_catalog(random_state={args.seed})"), "params": cat.params,
                      "n_train_sample": len(tr.y), "n_test_sample": len(te.y), "seconds": t_catalog},
        "split": "training sample split by halo 55/30/15 into train / calibration / evaluation, each capped; "
                 "the early-stopping set is the CNN's own validation split of the training set",
        "n": {k: int(len(v)) for k, v in y.items()},
        "features": {"kde": repr(kde), "seconds": t_kde, "ms_per_cluster": 1e3 * t_kde / n_images},
        "cnn": {"params": {k: v for k, v in cnn.get_params().items() if np.isscalar(v) or v is None},
                "fit_seconds": t_fit, "epochs_run": len(history["loss"]) if history else None,
                "history": history},
        "sbi": {"bandwidth": sbi.bandwidth, "fit_seconds": t_cal},
        "evaluations": evaluations,
        "paper": {"std": 0.16, "mean": 0.04, "coverage": "near ideal (Fig. 6)", "n_train": 15500,
                  "epochs": "about 50, early stopping 5"},
        "total_seconds_wall": time.perf_counter() - t_start,
        "total_seconds_cpu_this_process": time.process_time() - cpu_start,
        "peak_rss_MB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "loadavg_before": load_before, "loadavg_after": os.getloadavg(),
        "machine": machine(keras=keras.__version__, backend=keras.backend.backend()),
        "date_utc": utc_now(),
    }
    write_json(args.out, out)
    print(f"-> {args.out}")
    if not args.no_plot:
        plot(sbi, evaluations, Path(args.figure))
        print(f"-> {args.figure}")


if __name__ == "__main__":
    main()
