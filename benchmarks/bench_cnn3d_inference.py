"""Inference time of the trained 3D pipeline: 50^3 (x, y, v) KDE images + the factorised network.

The setting of ``bench_cnn3d_sbi.py``: ``PhaseSpaceKDE(coords="xyv",
aperture=4, bandwidth=0.175, n_jobs=2)`` images of SDSS-like clusters (the
mass-function test sample of an SDSS-like mock, galaxies in 4 h^-1 Mpc
cylinders, |v_los| <= 2200 km/s) and ``CNNRegressor(architecture=
"factorised")``. The network is trained for one epoch on ``--n-train``
clusters (its accuracy is irrelevant here, only its cost).

Timed, per backend (each in its own process, ``KERAS_BACKEND`` set before
Keras is imported), in batches of ``--batch`` clusters after a warm-up pass
over all of them (every batch shape traced once), ``--repeats`` times:

- ``images``: ``kde.transform(batch)``;
- ``network``: ``cnn.predict(images)``;
- ``network_keras_predict``: the same network through ``model.predict`` on
  the prepared batch, as ``CNNRegressor.predict`` ran before it called the
  compiled prediction step batch by batch (for comparison).

Clusters come from ``--catalog`` (an HDF5 catalogue of
:func:`skcluster.datasets.save_catalog`, e.g. the one of
``bench_cnn3d_sbi.py``) or else from a small log-normal SDSS-like mock
simulated here (``make_sdss_mock_catalog(simulator="lognormal",
n_realizations=1, box_size=400, random_state=0)``); the JSON records their
numbers of galaxies, on which the image cost depends (about linearly).

Usage::

    flock /work/heavy.lock python benchmarks/bench_cnn3d_inference.py [--catalog PATH] [--backends tensorflow,jax]

Writes ``benchmarks/results/cnn3d_inference.json`` (``--out``).
"""

import argparse
import importlib.util
import os
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from _results import command, machine, utc_now, write_json

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
KDE_PARAMS = {"coords": "xyv", "aperture": 4.0, "v_cut": 2200.0, "bandwidth": 0.175}
TARGET_MS = 2.0


def time_inference(kde, cnn, X, *, batch=100, repeats=1, keras_predict=False):
    """Milliseconds per cluster of images and network, batch by batch, after a warm-up pass.

    Parameters
    ----------
    kde : fitted PhaseSpaceKDE
    cnn : fitted CNNRegressor
    X : list of (n_galaxies, 3) arrays
    batch : int
        Clusters per batch (images and network).
    repeats : int
        Timed passes over ``X``; each gives its own numbers, the summary is their median.
    keras_predict : bool
        Also time ``cnn.model_.predict`` on the prepared batch.

    Returns
    -------
    timing : dict
        ``images``, ``network``, ``total`` (median over repeats) and ``runs``
        (per repeat), in ms per cluster, and what was timed.
    """
    batches = [X[s:s + batch] for s in range(0, len(X), batch)]
    for b in batches:  # warm-up: every batch shape traced once
        cnn.predict(kde.transform(b))
        if keras_predict:
            cnn.model_.predict(cnn._prepare_inputs(kde.transform(b), reset=False), batch_size=batch, verbose=0)
    runs = []
    for _ in range(repeats):
        t_img = t_net = t_keras = 0.0
        for b in batches:
            t0 = time.perf_counter()
            images = kde.transform(b)
            t1 = time.perf_counter()
            cnn.predict(images)
            t2 = time.perf_counter()
            t_img, t_net = t_img + t1 - t0, t_net + t2 - t1
            if keras_predict:
                prepared = cnn._prepare_inputs(images, reset=False)
                t3 = time.perf_counter()
                cnn.model_.predict(prepared, batch_size=batch, verbose=0)
                t_keras += time.perf_counter() - t3
        n = max(len(X), 1)
        run = {"images": 1e3 * t_img / n, "network": 1e3 * t_net / n, "total": 1e3 * (t_img + t_net) / n}
        if keras_predict:
            run["network_keras_predict"] = 1e3 * t_keras / n
        runs.append(run)
    summary = {k: float(np.median([r[k] for r in runs])) for k in runs[0]}
    return {**summary, "runs": runs, "n": len(X), "batch": batch,
            "how": f"PhaseSpaceKDE(n_jobs={kde.n_jobs}).transform + CNNRegressor.predict, batches of {batch} "
                   f"clusters, after a warm-up pass; median of {repeats} timed pass(es)"}


def _commit(path):
    """Git commit of the checkout holding ``path`` (None outside git)."""
    import subprocess

    try:
        return subprocess.run(["git", "-C", os.path.dirname(path), "rev-parse", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def load_clusters(catalog, n_clusters, n_train, seed):
    """Test-sample clusters to time and training clusters, with where they came from."""
    from skcluster.datasets import load_catalog, make_sdss_mock_catalog

    t0 = time.perf_counter()
    if catalog:
        cat, source = load_catalog(catalog), f"load_catalog({catalog!r}) test sample"
    else:
        params = {"simulator": "lognormal", "n_realizations": 1, "box_size": 400.0, "random_state": seed}
        cat = make_sdss_mock_catalog(**params)
        source = "make_sdss_mock_catalog(" + ", ".join(f"{k}={v!r}" for k, v in params.items()) + ") test sample"
    rng = np.random.default_rng(seed)
    test = rng.permutation(len(cat.test.y))[:n_clusters]
    train = rng.permutation(len(cat.train.y))[:n_train]
    X = [np.asarray(cat.test.X[i]) for i in test]
    train_X, train_y = [np.asarray(cat.train.X[i]) for i in train], np.asarray(cat.train.y)[train]
    return X, (train_X, train_y), source, time.perf_counter() - t0


def run_backend(backend, X, train, args):
    """Train the factorised network one epoch and time inference; runs in its own process."""
    os.environ["KERAS_BACKEND"] = backend  # this process imports Keras for the first time below
    import keras

    from skcluster import CNNRegressor, PhaseSpaceKDE

    kde = PhaseSpaceKDE(**KDE_PARAMS, grid_shape=args["grid"], n_jobs=2).fit(X[:1])
    t0 = time.perf_counter()
    cnn = CNNRegressor(architecture="factorised", epochs=1, batch_size=args["batch"], random_state=0)
    cnn.fit(kde.transform(train[0]), train[1])
    fit_seconds = time.perf_counter() - t0
    timing = time_inference(kde, cnn, X, batch=args["batch"], repeats=args["repeats"], keras_predict=True)
    result = {"backend": keras.backend.backend(), "keras": keras.__version__, "fit_seconds_1_epoch": fit_seconds,
              "ms_per_cluster": timing}
    if args["network_batches"]:  # the network alone on images made once, by prediction batch size
        images = kde.transform(X)
        by_batch = {}
        for b in args["network_batches"]:
            cnn.set_params(batch_size=b)
            cnn.predict(images)  # warm-up: trace the batch shapes
            seconds = []
            for _ in range(args["repeats"]):
                t0 = time.perf_counter()
                cnn.predict(images)
                seconds.append(time.perf_counter() - t0)
            by_batch[str(b)] = 1e3 * float(np.median(seconds)) / len(X)
        result["network_ms_per_cluster_by_batch_size"] = by_batch
    return result


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--catalog", default=None, help="HDF5 catalogue (default: a small log-normal SDSS-like mock)")
    p.add_argument("--backends", default=None,
                   help="comma-separated Keras backends (default: tensorflow and jax, those installed)")
    p.add_argument("--n-clusters", type=int, default=400, help="test-sample clusters timed (at most)")
    p.add_argument("--n-train", type=int, default=200, help="clusters of the one training epoch")
    p.add_argument("--grid", type=int, default=50, help="voxels per axis")
    p.add_argument("--batch", type=int, default=100, help="clusters per batch")
    p.add_argument("--repeats", type=int, default=3, help="timed passes")
    p.add_argument("--network-batches", default="",
                   help="comma-separated prediction batch sizes for which to time the network alone, "
                        "on images made once (e.g. 25,50,100,200)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(RESULTS / "cnn3d_inference.json"))
    p.add_argument("--label", default=None, help="note stored in the JSON (e.g. which code version was timed)")
    args = p.parse_args(argv)
    import skcluster

    backends = (args.backends.split(",") if args.backends else
                [b for b in ("tensorflow", "jax") if importlib.util.find_spec(b) is not None])
    # PYTHONPATH picks the skcluster checkout timed (e.g. an older commit, for a before/after comparison)
    run_command = " ".join(filter(None, [f"PYTHONPATH={os.environ['PYTHONPATH']}" if os.environ.get("PYTHONPATH")
                                         else None, command(__file__)]))
    load_before = os.getloadavg()
    X, train, source, seconds = load_clusters(args.catalog, args.n_clusters, args.n_train, args.seed)
    counts = np.array([len(c) for c in X])
    print(f"{len(X)} clusters ({source}, {seconds:.0f} s): galaxies mean {counts.mean():.0f}, "
          f"median {np.median(counts):.0f}", flush=True)
    worker_args = {"grid": args.grid, "batch": args.batch, "repeats": args.repeats,
                   "network_batches": [int(b) for b in args.network_batches.split(",") if b]}
    results = {}
    for backend in backends:
        with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
            results[backend] = pool.submit(run_backend, backend, X, train, worker_args).result()
        t = results[backend]["ms_per_cluster"]
        print(f"[{backend}] ms per cluster: images {t['images']:.2f} + network {t['network']:.2f} = "
              f"{t['total']:.2f} (model.predict: {t['network_keras_predict']:.2f})", flush=True)
        if "network_ms_per_cluster_by_batch_size" in results[backend]:
            print(f"[{backend}] network alone by batch size: {results[backend]['network_ms_per_cluster_by_batch_size']}",
                  flush=True)
    out = {
        "benchmark": "Inference of the trained 3D pipeline: PhaseSpaceKDE xyv images + factorised network",
        "label": args.label,
        "command": run_command,
        "clusters": {"source": source, "n": len(X), "galaxies_mean": float(counts.mean()),
                     "galaxies_percentiles_0_5_25_50_75_95_100":
                         np.percentile(counts, [0, 5, 25, 50, 75, 95, 100]).tolist()},
        "kde": f"PhaseSpaceKDE({', '.join(f'{k}={v!r}' for k, v in KDE_PARAMS.items())}, "
               f"grid_shape={args.grid}, n_jobs=2)",
        "network": f"CNNRegressor(architecture='factorised', epochs=1, batch_size={args.batch}) trained on "
                   f"{len(train[1])} clusters (accuracy irrelevant)",
        "results": results,
        "target_ms_per_cluster": TARGET_MS,
        "loadavg_before": load_before, "loadavg_after": os.getloadavg(),
        "skcluster": {"path": os.path.dirname(skcluster.__file__), "commit": _commit(skcluster.__file__)},
        "machine": machine(),
        "date_utc": utc_now(),
    }
    write_json(args.out, out)
    print(f"-> {args.out}")


if __name__ == "__main__":
    main()
