"""Benchmark the paper's CNN3D and the factorised 3D network, each with SBI, side by side at 50^3.

The setting of Kodi Ramanah et al. (2021): the SDSS-like flux-limited mock
(:func:`skcluster.datasets.make_sdss_mock_catalog`, 4 h^-1 Mpc cylinders,
|v_los| <= 2200 km/s) and ``PhaseSpaceKDE(coords="xyv", aperture=4,
bandwidth=0.175)`` images on a ``--grid``^3 grid (the paper: 50^3).

The training sample is split by halo into four sets shared by both networks:
training, early stopping (validation loss, patience ``--patience``),
calibration of :class:`~skcluster.SBICalibrator` (from the held-out
predictions) and a flat-prior evaluation set; the catalogue's mass-function
test sample, without the halos of the first three sets, is scored as well.
No image set is held in memory. By default (``--images disk``) the training
and early-stopping images are made once, 256 clusters at a time, into HDF5
files that :class:`skcluster.parallel.ClusterImageDataset` reads back batch by
batch every epoch; ``--images stream`` makes them batch by batch every epoch
instead (the KDE then costs as much CPU as the network: about 0.5 s per step
of 100 instead of 0.3 s on two cores). Calibration, evaluation and test
images are made batch by batch while the networks predict.

Each network runs in its own process (so that its wall time, CPU time and
peak memory are its own), one after the other:

- ``factorised``: ``CNNRegressor(architecture="factorised")`` trained to
  convergence (early stopping, at most ``--epochs`` epochs);
- ``kodiramanah2021``: the paper's CNN3D, the same way but, at several
  seconds per step of 100 images on two CPU cores, with a wall-time budget of
  ``--paper-minutes`` (the JSON records the steps run and whether the budget
  stopped it); the paper trained ~50 epochs of 15,500 clusters on a GPU.

Inference time is the time to make the images of the test sample and run the
network on them, in batches of 100, after a warm-up pass over them
(``time_inference`` of ``bench_cnn3d_inference.py``, which times it alone).

Writes ``benchmarks/results/cnn3d_sbi_sdss.json`` and the figure
``benchmarks/results/cnn3d_sbi_sdss.png`` (copied to
``docs/_static/sbi/cnn3d_calibration.png``).

Usage::

    python benchmarks/bench_cnn3d_sbi.py --catalog /path/cache/sdss_cat.h5 [--grid 50] [--epochs 30]

``--catalog`` is read if it exists, else the mock is simulated (about 1 min)
and written there for the next run. ``KERAS_BACKEND`` defaults to TensorFlow
when it is installed: on CPU, JAX is about 7 times slower for the factorised
network and 13 times or more slower for the CNN3D.
"""

import argparse
import importlib.util
import os
import resource
import shutil
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin

from _results import command, machine, utc_now, write_json
from bench_cnn3d_inference import time_inference

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DOCS_FIGURE = ROOT / "docs" / "_static" / "sbi" / "cnn3d_calibration.png"
LEVELS = np.round(np.arange(0.05, 1.0, 0.05), 2)
SETS = ("train", "stop", "calibration", "evaluation")
NETWORKS = ("factorised", "kodiramanah2021")
BATCH = 100


def split_halos(groups, fractions, seed):
    """Assign each halo to one of len(fractions) sets; returns the set index of every observation."""
    halos, inverse = np.unique(np.asarray(groups), return_inverse=True)
    rng = np.random.default_rng(seed)
    cut = np.cumsum(fractions)[:-1] / np.sum(fractions)
    return np.searchsorted(cut, rng.random(halos.size), side="right")[inverse]


def make_splits(cat, fractions, seed, n_train=None):
    """Indices of the four training-sample sets and of the mass-function test sample."""
    tr, te = cat.train, cat.test
    which = split_halos(tr.groups, fractions, seed)
    rng = np.random.default_rng(seed)
    index = {name: rng.permutation(np.flatnonzero(which == k)) for k, name in enumerate(SETS)}
    if n_train:
        index["train"] = index["train"][:n_train]
    used = np.unique(np.asarray(tr.groups)[which < 3])  # halos of train, stop and calibration
    index["test"] = np.flatnonzero(~np.isin(np.asarray(te.groups), used))
    return index


def _load(path):
    from skcluster.datasets import load_catalog

    return load_catalog(path)


def _clusters(cat, index, name):
    sample = cat.test if name == "test" else cat.train
    return [sample.X[i] for i in index[name]], np.asarray(sample.y)[index[name]]


class _Timer:
    """Keras callback: wall time of every epoch, steps run, a stop after ``budget`` seconds (None: none)."""

    def __init__(self, budget=None):
        import keras

        outer = self

        class Timer(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                outer.start = time.perf_counter()

            def on_epoch_begin(self, epoch, logs=None):
                self.t0 = time.perf_counter()

            def on_train_batch_end(self, batch, logs=None):
                outer.steps += 1
                if budget is not None and time.perf_counter() - outer.start > budget:
                    outer.stopped_by_budget = True
                    self.model.stop_training = True

            def on_epoch_end(self, epoch, logs=None):
                outer.seconds.append(time.perf_counter() - self.t0)

        self.seconds, self.steps, self.stopped_by_budget, self.callback = [], 0, False, Timer()


def run_network(name, catalog_path, index, args):
    """Train one network, predict every set, time inference; runs in its own process."""
    t_start, cpu_start = time.perf_counter(), time.process_time()
    import keras

    from skcluster import CNNRegressor, PhaseSpaceKDE
    from skcluster.parallel import ClusterImageDataset

    cat = _load(catalog_path)
    data = {k: _clusters(cat, index, k) for k in (*SETS, "test")}
    kde = PhaseSpaceKDE(coords="xyv", grid_shape=args["grid"], aperture=4.0, v_cut=2200.0, bandwidth=0.175)
    kde.fit(data["train"][0][:1])

    def stream(key, n=None, shuffle=False):
        """Images made batch by batch by the KDE while Keras asks for them."""
        X, y = data[key]
        return ClusterImageDataset(X[:n], y[:n], kde=kde, batch_size=BATCH, shuffle=shuffle,
                                   random_state=args["seed"], workers=args["workers"])

    image_seconds, files = 0.0, []

    def stored(key, n=None, shuffle=False):
        """Images made once, chunk by chunk, into an HDF5 file, then read back batch by batch."""
        nonlocal image_seconds
        if args["images"] == "stream":
            return stream(key, n, shuffle)
        import h5py

        X, y = data[key]
        X, y = X[:n], y[:n]
        t0 = time.perf_counter()
        path = os.path.join(args["image_dir"], f"{name}_{key}_{os.getpid()}.h5")
        files.append(path)
        kde_jobs = PhaseSpaceKDE(**{**kde.get_params(), "n_jobs": 2}).fit(X[:1])
        with h5py.File(path, "w") as f:
            kde_jobs.transform_to(X, f.create_dataset("images", (len(X), *kde.image_shape_), dtype="float32"),
                                  chunk_size=256)
        image_seconds += time.perf_counter() - t0
        return ClusterImageDataset(h5py.File(path, "r")["images"], y, batch_size=BATCH, shuffle=shuffle,
                                   random_state=args["seed"], workers=args["workers"])

    if name == "factorised":
        cnn = CNNRegressor(architecture="factorised", epochs=args["epochs"], batch_size=BATCH,
                           learning_rate=args["learning_rate"], early_stopping=args["patience"],
                           random_state=args["seed"], verbose=2)
        timer = _Timer()
        budget = f"at most {args['epochs']} epochs, early stopping patience {args['patience']}"
    else:
        cnn = CNNRegressor(architecture="kodiramanah2021", epochs=args["epochs"], batch_size=BATCH,
                           learning_rate=args["paper_learning_rate"], early_stopping=args["patience"],
                           random_state=args["seed"], verbose=2)
        timer = _Timer(60.0 * args["paper_minutes"])
        budget = (f"wall-time budget of {args['paper_minutes']} min of training (stops after the step that "
                  f"exceeds it), else at most {args['epochs']} epochs, early stopping patience "
                  f"{args['patience']}")
    t0, c0 = time.perf_counter(), time.process_time()
    train, validation = stored("train", shuffle=True), stored("stop")
    cnn._callbacks = lambda: [timer.callback]  # per-epoch wall times
    cnn.fit(train, validation_data=validation)
    fit_wall, fit_cpu = time.perf_counter() - t0, time.process_time() - c0
    for path in files:
        os.remove(path)
    print(f"[{name}] images + fit {fit_wall:.0f} s wall ({image_seconds:.0f} s images), {fit_cpu:.0f} s CPU, "
          f"epochs {cnn.n_iter_}", flush=True)

    t0 = time.perf_counter()
    predictions = {key: cnn.predict(stream(key)) for key in ("calibration", "evaluation", "test")}
    predict_wall = time.perf_counter() - t0

    # inference: images + network for the test sample, in batches of 100, after a warm-up pass (as
    # bench_cnn3d_inference.py times it)
    X_test = data["test"][0]
    cnn.set_params(verbose=0)  # predict's compiled step batch by batch (verbose > 0 runs model.predict)
    kde_fast = PhaseSpaceKDE(**{**kde.get_params(), "n_jobs": 2}).fit(X_test[:1])
    inference = time_inference(kde_fast, cnn, X_test, batch=BATCH, repeats=1)
    history = {k: [float(v) for v in vals] for k, vals in cnn.history_.items()}
    val = history.get("val_loss")
    return {
        "architecture": cnn.architecture_,
        "weights": int(cnn.model_.count_params()),
        "params": {k: v for k, v in cnn.get_params().items() if np.isscalar(v) or v is None},
        "budget": budget,
        "n_train_clusters": int(train.n_samples),
        "steps_run": timer.steps,
        "stopped_by_time_budget": timer.stopped_by_budget,
        "epochs_run": cnn.n_iter_,
        "best_epoch": int(np.argmin(val)) + 1 if val else None,
        "fit_seconds_wall": fit_wall, "fit_seconds_cpu": fit_cpu,
        "fit_includes": ("making the training and early-stopping images once into HDF5 files "
                         f"({image_seconds:.1f} s wall), then training from them" if args["images"] == "disk"
                         else "training on images made batch by batch every epoch"),
        "seconds_per_epoch": timer.seconds,
        "seconds_per_step": float(np.median(timer.seconds)) / len(train) if timer.seconds else None,
        "history": history,
        "predict_seconds_wall_all_sets": predict_wall,
        "inference_ms_per_cluster": inference,
        "predictions": {k: np.asarray(v, dtype=float).tolist() for k, v in predictions.items()},
        "process_seconds_wall": time.perf_counter() - t_start,
        "process_seconds_cpu": time.process_time() - cpu_start,
        "process_peak_rss_MB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "backend": keras.backend.backend(),
    }


class _Given(RegressorMixin, BaseEstimator):
    """Returns its one input column: lets the calibrated posteriors take precomputed predictions."""

    def fit(self, X, y=None):
        self.fitted_ = True
        return self

    def predict(self, X):
        return np.asarray(X, dtype=float)[:, 0]


def evaluate(sbi, point, y):
    """Residuals of the point predictions and posterior medians, SBI coverage, on one set."""
    from skcluster.exceptions import OutOfRangeWarning
    from skcluster.metrics import coverage_curve, residual_summary

    D = np.asarray(point, dtype=float)[:, None]
    if not (np.all(np.isfinite(D)) and np.all(np.abs(D) < 30)):  # an undertrained network
        return {"n": int(y.size), "error": "predictions are not log10 masses (non-finite or |d| >= 30): "
                f"range [{np.nanmin(D):.3g}, {np.nanmax(D):.3g}]"}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", OutOfRangeWarning)
        median, std = sbi.predict(D, return_std=True)
        intervals = sbi.predict_interval(D, [0.68, 0.95])
        pit = sbi.predict_cdf(D, y)
    inside = (y[:, None] >= intervals[:, 0]) & (y[:, None] <= intervals[:, 1])
    cov = np.asarray(coverage_curve(np.zeros_like(pit), pit=pit, credibility_levels=LEVELS)[1])

    def summary(a, b):
        return {k: (int(v) if k == "n" else float(v)) for k, v in residual_summary(a, b).items()}

    return {
        "n": int(y.size),
        "coverage_68": float(inside[:, 0].mean()), "coverage_95": float(inside[:, 1].mean()),
        "coverage_curve": {"levels": LEVELS.tolist(), "coverage": cov.tolist()},
        "max_abs_coverage_error": float(np.max(np.abs(cov - LEVELS))),
        "mean_posterior_std_dex": float(np.mean(std)),
        "residuals_point": summary(y, point),
        "residuals_posterior_median": summary(y, median),
        "n_out_of_range_warnings": len(caught),
    }


def plot(results, y, path):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 3.6))
    axes = fig.subplots(1, 3)
    labels = {"factorised": "factorised 3D network", "kodiramanah2021": "CNN3D (paper), time budget"}
    for ax, name in zip(axes[:2], NETWORKS):
        if name not in results or "error" in results[name]["evaluations"]["test_mass_function"]:
            ax.set_visible(False)
            continue
        pred = np.asarray(results[name]["predictions"]["test"])
        ax.scatter(y["test"], pred, s=3, alpha=0.4, color="C0" if name == "factorised" else "C1")
        lo, hi = np.min(y["test"]), np.max(y["test"])
        ax.plot([lo, hi], [lo, hi], color="k", lw=1, ls=":")
        std = results[name]["evaluations"]["test_mass_function"]["residuals_point"]["std"]
        ax.set_title(f"{labels[name]}: {std:.3f} dex", fontsize=8)
        ax.set_xlabel("true log10 M200c [h^-1 Msun]")
        ax.set_ylabel("prediction, mass-function test sample")
    ax = axes[2]
    ax.plot([0, 1], [0, 1], color="0.5", lw=1, ls=":")
    for name, color in zip(NETWORKS, ("C0", "C1")):
        for key, style in (("evaluation_flat_prior", "o-"), ("test_mass_function", "s--")):
            if name in results and "error" not in results[name]["evaluations"][key]:
                curve = results[name]["evaluations"][key]["coverage_curve"]
                ax.plot(curve["levels"], curve["coverage"], style, ms=2.5, color=color,
                        label=f"{name}, {key.replace('_', ' ')}")
    ax.set_xlabel("credibility level of the central interval")
    ax.set_ylabel("fraction of true masses inside")
    ax.legend(fontsize=6)
    fig.suptitle("50^3 (x, y, v) images + SBI, SDSS-like mock, 4 h^-1 Mpc cylinders", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--catalog", default=None,
                   help="HDF5 catalogue: read if it exists, else simulated and written there")
    p.add_argument("--grid", type=int, default=50, help="voxels per axis (paper: 50)")
    p.add_argument("--fractions", default="0.64,0.08,0.18,0.10",
                   help="halo fractions of train, early stopping, calibration, evaluation")
    p.add_argument("--n-train", type=int, default=None, help="cap on the training clusters (smoke runs)")
    p.add_argument("--n-other", type=int, default=None, help="cap on every other set (smoke runs)")
    p.add_argument("--networks", default=",".join(NETWORKS))
    p.add_argument("--epochs", type=int, default=30, help="most epochs of the factorised network")
    p.add_argument("--patience", type=int, default=5, help="early stopping (paper: 5)")
    p.add_argument("--learning-rate", type=float, default=1e-3, help="Adam, factorised network")
    p.add_argument("--paper-minutes", type=float, default=10.0,
                   help="wall-time budget of the paper's CNN3D training")
    p.add_argument("--paper-learning-rate", type=float, default=1e-3,
                   help="Adam, CNN3D (paper: 1e-4 over ~50 epochs; 1e-3 for a short budget)")
    p.add_argument("--workers", type=int, default=2, help="threads making or reading image batches")
    p.add_argument("--images", choices=("disk", "stream"), default="disk",
                   help="training images: made once into HDF5 files read batch by batch (disk), or made "
                        "batch by batch every epoch (stream); predictions always stream")
    p.add_argument("--image-dir", default=tempfile.gettempdir(), help="where the HDF5 image files go")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(RESULTS / "cnn3d_sbi_sdss.json"))
    p.add_argument("--figure", default=str(RESULTS / "cnn3d_sbi_sdss.png"))
    p.add_argument("--docs-figure", default=str(DOCS_FIGURE),
                   help="copy of the figure for the docs ('' for none)")
    args = p.parse_args(argv)
    if "KERAS_BACKEND" not in os.environ:  # before any Keras import, here and in the workers
        os.environ["KERAS_BACKEND"] = "tensorflow" if importlib.util.find_spec("tensorflow") else "jax"
    run_command = command(__file__, keras_backend=os.environ["KERAS_BACKEND"])
    from skcluster import SBICalibrator
    from skcluster.datasets import make_sdss_mock_catalog, save_catalog

    load_before = os.getloadavg()
    t_start = time.perf_counter()
    tmp = None
    t0 = time.perf_counter()
    if args.catalog and Path(args.catalog).exists():
        catalog_path, built = args.catalog, f"load_catalog({args.catalog!r})"
        cat = _load(catalog_path)
    else:
        cat = make_sdss_mock_catalog(random_state=args.seed)
        if args.catalog:
            catalog_path = args.catalog
        else:
            tmp = tempfile.mkdtemp()
            catalog_path = os.path.join(tmp, "catalog.h5")
        save_catalog(cat, catalog_path)
        built = f"make_sdss_mock_catalog(random_state={args.seed})"
    t_catalog = time.perf_counter() - t0
    fractions = [float(f) for f in args.fractions.split(",")]
    index = make_splits(cat, fractions, args.seed, args.n_train)
    if args.n_other:
        index = {k: (v if k == "train" else v[:args.n_other]) for k, v in index.items()}
    y = {k: _clusters(cat, index, k)[1] for k in (*SETS, "test")}
    print(f"catalogue {t_catalog:.0f} s; " + ", ".join(f"{k} {len(v)}" for k, v in y.items()), flush=True)

    worker_args = {k: getattr(args, k) for k in ("grid", "epochs", "patience", "learning_rate",
                                                 "paper_minutes", "paper_learning_rate", "workers", "seed",
                                                 "images", "image_dir")}
    results = {}
    for name in args.networks.split(","):
        with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
            results[name] = pool.submit(run_network, name, catalog_path, index, worker_args).result()
        r = results[name]
        r["evaluations"] = {}
        d_cal = np.asarray(r["predictions"]["calibration"])
        if not (np.all(np.isfinite(d_cal)) and np.all(np.abs(d_cal) < 30)):  # an undertrained network
            r["evaluations"] = {k: {"error": "no SBI: calibration predictions are not log10 masses"}
                                for k in ("evaluation_flat_prior", "test_mass_function")}
            print(f"[{name}] calibration predictions are not log10 masses; no SBI", flush=True)
            continue
        sbi = SBICalibrator.from_predictions(_Given().fit(None), d_cal, y["calibration"])
        r["sbi"] = {"bandwidth": sbi.bandwidth, "grid_size": sbi.grid_size,
                    "n_calibration": len(y["calibration"])}
        for key, set_name in (("evaluation_flat_prior", "evaluation"), ("test_mass_function", "test")):
            m = r["evaluations"][key] = evaluate(sbi, np.asarray(r["predictions"][set_name]), y[set_name])
            if "error" in m:
                print(f"[{name} {key}] {m['error']}", flush=True)
                continue
            print(f"[{name} {key}] n={m['n']}: point std {m['residuals_point']['std']:.3f} median "
                  f"{m['residuals_point']['median']:.3f}; coverage 68% {m['coverage_68']:.3f}, "
                  f"95% {m['coverage_95']:.3f}", flush=True)
        print(f"[{name}] {r['process_seconds_wall']:.0f} s wall, {r['process_seconds_cpu']:.0f} s CPU, "
              f"{r['process_peak_rss_MB']:.0f} MB; inference {r['inference_ms_per_cluster']['total']:.2f} "
              "ms per cluster", flush=True)
    if tmp:
        shutil.rmtree(tmp, ignore_errors=True)

    import keras

    out = {
        "benchmark": "Paper CNN3D vs factorised 3D network, 50^3 (x, y, v) images + SBICalibrator, "
                     "SDSS-like mock (Kodi Ramanah et al. 2021 setting)",
        "command": run_command,
        "catalogue": {"builder": built, "params": cat.params, "n_train_sample": len(cat.train.y),
                      "n_test_sample": len(cat.test.y), "seconds": t_catalog},
        "split": "training sample split by halo into train / early stopping / calibration / evaluation "
                 f"(fractions {args.fractions}); test = mass-function test sample without the halos of the "
                 "first three sets; SBI calibrated on the calibration set's held-out predictions of each "
                 "network",
        "n": {k: int(len(v)) for k, v in y.items()},
        "features": {"kde": f"PhaseSpaceKDE(coords='xyv', grid_shape={args.grid}, aperture=4.0, "
                            "v_cut=2200.0, bandwidth=0.175)",
                     "pipeline": (f"training and early-stopping images made once, 256 clusters at a "
                                  "time, into HDF5 files read back by "
                                  f"ClusterImageDataset(batch_size={BATCH}, workers={args.workers})"
                                  if args.images == "disk" else
                                  f"ClusterImageDataset(kde=..., batch_size={BATCH}, "
                                  f"workers={args.workers}): training images made per batch every epoch") +
                                 "; calibration, evaluation and test images made per batch while predicting; "
                                 "float32 throughout"},
        "networks": results,
        "paper": {"std": 0.16, "mean": 0.04, "coverage": "near ideal (Fig. 6)", "n_train": 15500,
                  "epochs": "about 50, early stopping 5"},
        "targets": {"factorised_fit_minutes": 30, "factorised_min_train": 10000, "test_std_dex": 0.16,
                    "coverage_tolerance": 0.03, "inference_ms_per_cluster": 2.0},
        "total_seconds_wall": time.perf_counter() - t_start,
        "loadavg_before": load_before, "loadavg_after": os.getloadavg(),
        "machine": machine(keras=keras.__version__, backend=os.environ["KERAS_BACKEND"]),
        "date_utc": utc_now(),
    }
    write_json(args.out, out)
    print(f"-> {args.out}")
    if args.figure:
        plot(results, y, Path(args.figure))
        print(f"-> {args.figure}")
        if args.docs_figure:
            Path(args.docs_figure).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(args.figure, args.docs_figure)


if __name__ == "__main__":
    main()
