"""Benchmark CNNRegressor: training and inference speed per backend, residuals on the built-in mock.

Two parts (``--part speed``, ``--part residuals`` or both):

speed
    Synthetic normalised images (speed does not depend on their content).
    Seconds per epoch of the Ho et al. (2019) CNN1D (48 velocity bins) and
    CNN2D (48 x 48) on 10,000 images (``augment=False``: the default flip
    augmentation doubles the images, hence the time, per epoch), batch 100;
    seconds per training step of the Kodi Ramanah et al. (2021) CNN3D (50^3
    images, batch 100); microseconds per cluster at inference (``predict``,
    batch 100, after one warm-up call). Epoch times come from a Keras
    callback; the first epoch (compilation) is reported separately and every
    number is the best of ``--repeats`` runs. The machine is shared, so the
    load average is recorded before and after each measurement.
residuals
    The contaminated training sample of the built-in mock
    (``skcluster.datasets.make_mock_catalog(random_state=seed)``, or
    ``--catalog`` saved by ``save_catalog``), ``GroupKFold(n_folds)`` by halo
    id (no shuffling). CNN1D on ``PhaseSpaceKDE(coords='v')`` and CNN2D on
    ``PhaseSpaceKDE(coords='rv')`` images (48 and 48 x 48 bins, bandwidth
    0.25), 20 epochs, batch 100, Adam 1e-3, flip augmentation (Ho 2019), and
    ``MSigma`` on the same folds; out-of-fold residual summaries (Ho 2019
    Table 2) overall and for true 14 <= log M <= 15.

Usage (from the repository root), once per backend::

    KERAS_BACKEND=jax python benchmarks/bench_cnn.py --out benchmarks/results/cnn_jax.json
    KERAS_BACKEND=tensorflow python benchmarks/bench_cnn.py --part speed \\
        --out benchmarks/results/cnn_tensorflow.json
"""

import argparse
import os
import time
from pathlib import Path

import numpy as np

from _results import command, machine, write_json

ROOT = Path(__file__).resolve().parents[1]


class _EpochTimer:
    """Keras callback factory recording wall-clock seconds per epoch and per batch."""

    def __new__(cls):
        import keras

        class Timer(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                self.epoch_seconds, self.batch_seconds = [], []

            def on_epoch_begin(self, epoch, logs=None):
                self._t_epoch = time.perf_counter()

            def on_train_batch_begin(self, batch, logs=None):
                self._t_batch = time.perf_counter()

            def on_train_batch_end(self, batch, logs=None):
                self.batch_seconds.append(time.perf_counter() - self._t_batch)

            def on_epoch_end(self, epoch, logs=None):
                self.epoch_seconds.append(time.perf_counter() - self._t_epoch)

        return Timer()


def _timed_cnn(timer, **params):
    """A CNNRegressor whose fit also runs ``timer`` (subclass adding one callback)."""
    from skcluster import CNNRegressor

    class TimedCNN(CNNRegressor):
        def _callbacks(self):
            return [timer]

    return TimedCNN(**params)


def _images(n, shape, seed):
    rng = np.random.RandomState(seed)
    X = rng.uniform(size=(n, *shape)).astype(np.float32)
    X /= X.reshape(n, -1).sum(axis=1).reshape((n,) + (1,) * len(shape))
    return X, rng.uniform(13.5, 15.3, size=n)


def measure_training(name, shape, n_images, epochs, repeats, seed):
    X, y = _images(n_images, shape, seed)
    runs = []
    for r in range(repeats):
        timer = _EpochTimer()
        cnn = _timed_cnn(timer, epochs=epochs, batch_size=100, augment=False, random_state=seed + r)
        load = os.getloadavg()
        t0 = time.perf_counter()
        cnn.fit(X, y)
        total = time.perf_counter() - t0
        steps = int(np.ceil(n_images / 100))
        runs.append({"fit_seconds": total, "epoch_seconds": timer.epoch_seconds,
                     "steady_step_seconds": float(np.median(timer.batch_seconds[steps:] or timer.batch_seconds)),
                     "loadavg_before": load, "loadavg_after": os.getloadavg()})
        print(f"  {name} run {r}: epochs {np.round(timer.epoch_seconds, 2).tolist()} s", flush=True)
    later = [s for run in runs for s in run["epoch_seconds"][1:]] or [runs[0]["epoch_seconds"][0]]
    X_pred = X[: min(n_images, 10_000)]
    cnn.predict(X_pred[:200])  # warm-up (compiles the predict step)
    best_pred = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        cnn.predict(X_pred)
        best_pred = min(best_pred, time.perf_counter() - t0)
    return {"architecture": cnn.architecture_, "image_shape": list(shape), "n_images": n_images,
            "batch_size": 100, "augment": False, "n_weights": int(cnn.model_.count_params()),
            "first_epoch_seconds_best": float(min(run["epoch_seconds"][0] for run in runs)),
            "epoch_seconds_best": float(min(later)),
            "step_seconds_best": float(min(run["steady_step_seconds"] for run in runs)),
            "predict_us_per_cluster_best": 1e6 * best_pred / len(X_pred), "n_predict": len(X_pred),
            "runs": runs}


def part_speed(args):
    out = {}
    for name, shape, n, epochs in [("cnn1d", (48,), args.n_images, args.epochs),
                                   ("cnn2d", (48, 48), args.n_images, args.epochs),
                                   ("cnn3d", (50, 50, 50), args.n_3d, 2)]:
        if name in args.skip:
            continue
        print(f"speed {name} {shape} x {n}", flush=True)
        out[name] = measure_training(name, shape, n, epochs, args.repeats, args.seed)
    return out


def _load_catalog(args):
    from skcluster.datasets import TINY_MOCK_PARAMS, load_catalog, make_mock_catalog

    if args.catalog:
        cat, how = load_catalog(args.catalog), f"skcluster.datasets.load_catalog({args.catalog!r})"
    else:
        params = dict(TINY_MOCK_PARAMS) if args.quick else {}
        cat = make_mock_catalog(**params, random_state=args.seed)
        how = f"skcluster.datasets.make_mock_catalog(**{params!r}, random_state={args.seed})"
    tr = cat.train
    return list(tr.X), np.asarray(tr.y), np.asarray(tr.groups), how


def _summaries(y, pred):
    from skcluster.metrics import residual_summary

    def clean(d):
        return {k: (int(v) if k == "n" else float(v)) for k, v in d.items()}

    window = (y >= 14.0) & (y <= 15.0)
    return {"overall": clean(residual_summary(y, pred)), "14_15": clean(residual_summary(y[window], pred[window]))}


def part_residuals(args):
    from sklearn.model_selection import GroupKFold

    from skcluster import CNNRegressor, MSigma, PhaseSpaceKDE

    t0 = time.perf_counter()
    X, y, g, how = _load_catalog(args)
    t_data = time.perf_counter() - t0
    images = {"cnn1d": PhaseSpaceKDE(coords="v", bandwidth=0.25).fit_transform(X),
              "cnn2d": PhaseSpaceKDE(coords="rv", bandwidth=0.25).fit_transform(X)}
    folds = list(GroupKFold(n_splits=args.n_folds).split(X, y, g))
    preds = {name: np.empty(len(y)) for name in ("msigma", "cnn1d", "cnn2d")}
    fit_seconds = {name: [] for name in preds}
    for k, (train, test) in enumerate(folds):
        t0 = time.perf_counter()
        ms = MSigma().fit([X[i] for i in train], y[train])
        preds["msigma"][test] = ms.predict([X[i] for i in test])
        fit_seconds["msigma"].append(time.perf_counter() - t0)
        for name in ("cnn1d", "cnn2d"):
            cnn = CNNRegressor(epochs=20 if not args.quick else 2, batch_size=100, random_state=args.seed + k)
            t0 = time.perf_counter()
            cnn.fit(images[name][train], y[train])
            fit_seconds[name].append(time.perf_counter() - t0)
            preds[name][test] = cnn.predict(images[name][test])
        print(f"  fold {k}: eps std " + ", ".join(f"{n} {np.std(p[test] - y[test]):.3f}" for n, p in preds.items()),
              flush=True)
    return {"data": how, "data_seconds": t_data, "n_clusters": len(y), "n_halos": int(np.unique(g).size),
            "protocol": f"GroupKFold({args.n_folds}) by halo id on the mock's training sample; out-of-fold "
                        "predictions; CNNRegressor(epochs=20, batch_size=100) defaults otherwise "
                        "(Adam 1e-3, flip augmentation); MSigma() defaults; same folds for all",
            "fit_seconds_per_fold": fit_seconds,
            "residuals": {name: _summaries(y, p) for name, p in preds.items()}}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=["speed", "residuals", "both"], default="both")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per speed run (first one compiles)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--n-images", type=int, default=10_000, help="images in the CNN1D/CNN2D speed runs")
    parser.add_argument("--n-3d", type=int, default=300, help="images in the CNN3D speed run")
    parser.add_argument("--skip", nargs="*", default=[], help="speed runs to skip (cnn1d, cnn2d, cnn3d)")
    parser.add_argument("--catalog", help="HDF5 catalogue from save_catalog (default: build the default mock)")
    parser.add_argument("--n-folds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="tiny mock, 2 epochs (smoke run)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)

    import keras

    results = {"command": command(__file__),
               "keras_backend": keras.backend.backend(), "keras_version": keras.__version__,
               "machine": machine(loadavg_start=os.getloadavg())}
    if args.part in ("speed", "both"):
        results["speed"] = part_speed(args)
    if args.part in ("residuals", "both"):
        results["residuals"] = part_residuals(args)
    results["machine"]["loadavg_end"] = os.getloadavg()
    write_json(args.out, results)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
