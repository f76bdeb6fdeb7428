"""Benchmark the scale-out path: Dask featurisation throughput, bounded-memory featurisation, streamed 3D training.

Toy clusters (``skcluster.testing.make_toy_clusters``, 45-55 members plus 20%
interlopers: about 60 galaxies each), generated chunk by chunk from a seed per
block of ``BLOCK`` clusters so that no run holds the whole catalogue.

``throughput``
    2D 48 x 48 images of ``--n`` clusters read from a ragged HDF5 catalogue
    (``ChunkedClusters.from_hdf5``), featurised and written to an HDF5 file
    by ``store_images``: in this process without Dask (``transform_to``), and
    on a ``distributed.LocalCluster`` of 1 and of 2 single-threaded worker
    processes. Clusters per second, wall and CPU time, load average.
``memory``
    For each size in ``--sizes``, in a fresh process: 2D 48 x 48 images of
    that many clusters (generated inside the tasks) written to HDF5 by
    ``store_images`` with Dask's threaded scheduler; peak traced memory
    (tracemalloc) and peak RSS.
``train3d``
    For each size in ``--sizes``, in a fresh process under
    ``KERAS_BACKEND=tensorflow``: ``CNNRegressor`` (CNN3D of Kodi Ramanah et
    al. 2021) trained on 50**3 images made batch by batch by a
    ``ClusterImageDataset`` over a catalogue of that many clusters, the epoch
    cut after ``--steps`` batches (a full epoch of 20,000 clusters is 200
    steps at about 30 s of CPU each here); and, for comparison, for each of
    ``--memory-sizes``, the images featurised into memory first and one full
    epoch trained on them. Peak RSS, wall and CPU time, steps.

Run from the repository root, e.g.::

    python benchmarks/bench_scaling.py throughput --n 20000 --out benchmarks/results/scaling_throughput.json
    python benchmarks/bench_scaling.py memory --sizes 10000,100000,1000000 --out benchmarks/results/scaling_memory.json
    python benchmarks/bench_scaling.py train3d --sizes 2000,20000 --steps 8 --memory-sizes 800 \\
        --out benchmarks/results/scaling_train3d.json
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from functools import partial

import numpy as np

from _results import command, machine, write_json

#: Clusters generated from one seed; chunk boundaries need not align with it.
BLOCK = 1000
N_GALAXIES = (45, 55)
INTERLOPERS = 0.2


def toy_clusters(start, stop, seed=0):
    """Clusters ``start..stop-1`` of an endless toy catalogue (block ``b`` from seed ``seed + b``)."""
    from skcluster.testing import make_toy_clusters

    out = []
    for b in range(start // BLOCK, (stop - 1) // BLOCK + 1):
        X, _, _ = make_toy_clusters(BLOCK, n_galaxies=N_GALAXIES, interloper_fraction=INTERLOPERS,
                                    random_state=seed + b)
        lo, hi = max(start, b * BLOCK) - b * BLOCK, min(stop, (b + 1) * BLOCK) - b * BLOCK
        out.extend(X[lo:hi])
    return out


def toy_log_mass(n, seed=0):
    from skcluster.testing import make_toy_clusters

    return np.concatenate([make_toy_clusters(BLOCK, n_galaxies=N_GALAXIES, interloper_fraction=INTERLOPERS,
                                             random_state=seed + b)[1]
                           for b in range(-(-n // BLOCK))])[:n]


def _meta():
    return {
        "command": command(__file__),
        "machine": machine(),
        "load_average_before": os.getloadavg(),
        "clusters": {"generator": "skcluster.testing.make_toy_clusters", "n_galaxies": N_GALAXIES,
                     "interloper_fraction": INTERLOPERS},
    }


def _peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _write_catalogue(path, n):
    """Ragged HDF5 catalogue (group 'train', X_data/X_offsets) of n toy clusters, written in blocks."""
    import h5py

    with h5py.File(path, "w") as f:
        g = f.create_group("train")
        data = g.create_dataset("X_data", shape=(0, 3), maxshape=(None, 3), dtype="f8", chunks=(65536, 3))
        offsets = [0]
        for s in range(0, n, BLOCK):
            X = toy_clusters(s, min(s + BLOCK, n))
            flat = np.concatenate(X)
            data.resize(data.shape[0] + len(flat), axis=0)
            data[-len(flat):] = flat
            offsets.extend(offsets[-1] + np.cumsum([len(c) for c in X]))
        g.create_dataset("X_offsets", data=np.asarray(offsets, dtype=np.int64))
    return offsets[-1]


def _warm_up(kde, source):
    from skcluster.parallel._dask import chunk_images

    chunk_images(kde, source.chunk(0, 10), 0)


def run_throughput(args):
    import distributed

    from skcluster import PhaseSpaceKDE
    from skcluster.parallel import ChunkedClusters, store_images

    result = _meta()
    tmp = tempfile.mkdtemp()
    catalogue = os.path.join(tmp, "catalogue.h5")
    n_gal = _write_catalogue(catalogue, args.n)
    result["n_clusters"], result["mean_galaxies"] = args.n, n_gal / args.n
    source = ChunkedClusters.from_hdf5(catalogue, sample="train")
    kde = PhaseSpaceKDE(coords="rv").fit(source.chunk(0, 1))
    out = os.path.join(tmp, "images.h5")
    runs = []

    def timed(label, func, n_workers, client=None):
        w0 = sum(client.run(time.process_time).values()) if client else 0.0
        t0, c0 = time.perf_counter(), time.process_time()
        func()
        wall = time.perf_counter() - t0
        w1 = sum(client.run(time.process_time).values()) if client else 0.0
        row = {"run": label, "workers": n_workers, "wall_s": wall,
               "client_process_cpu_s": time.process_time() - c0,
               "worker_processes_cpu_s": w1 - w0,
               "clusters_per_s": args.n / wall, "load_average_after": os.getloadavg()}
        runs.append(row)
        print(json.dumps(row), flush=True)

    def no_dask():
        import h5py

        with h5py.File(out, "w") as f:
            dset = f.create_dataset("images", shape=(args.n, *kde.image_shape_), dtype="f4",
                                    chunks=(113, *kde.image_shape_))
            for s in range(0, args.n, args.chunk_size):
                e = min(s + args.chunk_size, args.n)
                dset[s:e] = kde.transform(source.chunk(s, e))

    _warm_up(kde, source)
    timed("single process, no dask (PhaseSpaceKDE.transform per chunk)", no_dask, 0)
    for n_workers in (1, 2):
        with distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                      dashboard_address=":0") as cluster, distributed.Client(cluster) as c:
            c.run(_warm_up, kde, source)  # imports, BLAS controller and one chunk, outside the timing
            timed(f"LocalCluster {n_workers} worker process(es) x 1 thread",
                  lambda: store_images(kde, source, out, chunk_size=args.chunk_size, client=c), n_workers, c)
    result["runs"] = runs
    result["chunk_size"] = args.chunk_size
    result["speedup_2_vs_1_worker"] = runs[1]["wall_s"] / runs[2]["wall_s"]
    result["load_average_after"] = os.getloadavg()
    return result


def memory_worker(n, chunk_size, trace):
    """One bounded-memory featurisation of n clusters to HDF5, in this process."""
    import dask

    from skcluster import PhaseSpaceKDE
    from skcluster.parallel import ChunkedClusters, store_images

    source = ChunkedClusters(partial(toy_clusters, seed=10), n_clusters=n)
    kde = PhaseSpaceKDE(coords="rv").fit(source.chunk(0, 1))
    tmp = tempfile.mkdtemp()
    path = os.path.join(tmp, "images.h5")
    rss0 = _peak_rss_mb()
    if trace:  # tracemalloc slows the Python-heavy toy generator several times
        tracemalloc.start()
    t0, c0 = time.perf_counter(), time.process_time()
    with dask.config.set(scheduler="threads", num_workers=2):
        store_images(kde, source, path, chunk_size=chunk_size, max_in_flight=4)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = tracemalloc.get_traced_memory()[1] if trace else None
    tracemalloc.stop()
    import h5py

    with h5py.File(path, "r") as f:
        last = f["images"][n - 1]
        check = float(f["images"][: min(n, 1000)].sum(dtype=np.float64))
        file_mb = os.path.getsize(path) / 2**20
    os.remove(path)
    image_mb = 4 * np.prod(kde.image_shape_) / 2**20
    return {"n_clusters": n, "chunk_size": chunk_size, "max_in_flight": 4, "scheduler": "threads x 2",
            "wall_s": wall, "process_cpu_s": cpu, "clusters_per_s": n / wall, "tracemalloc": trace,
            "peak_traced_MB": None if peak is None else peak / 2**20, "peak_rss_MB": _peak_rss_mb(),
            "peak_rss_MB_before_featurising": rss0, "hdf5_file_MB": file_mb,
            "all_images_in_memory_would_be_MB": n * image_mb,
            "sum_of_first_1000_images": check, "last_image_sum": float(last.sum()),
            "load_average_after": os.getloadavg()}


def train_worker(n, mode, batch_size, max_steps):
    """CNN3D training on a catalogue of n clusters, one epoch cut at ``max_steps`` steps.

    stream: a ClusterImageDataset over the n clusters, limited to its first
    ``max_steps`` batches (0: all); memory: the n images featurised into an
    array first (then n should be ``max_steps * batch_size``).
    """
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    from skcluster import CNNRegressor, PhaseSpaceKDE
    from skcluster.parallel import ChunkedClusters, ClusterImageDataset

    class FirstBatches(ClusterImageDataset):
        """The first ``max_steps`` batches of the catalogue (all with max_steps=0)."""

        def __len__(self):
            full = super().__len__()
            return min(full, max_steps) if max_steps else full

    source = ChunkedClusters(partial(toy_clusters, seed=20), n_clusters=n)
    y = toy_log_mass(n, seed=20)
    kde = PhaseSpaceKDE(coords="xyv").fit(source.chunk(0, 1))
    cnn = CNNRegressor(epochs=1, batch_size=batch_size, random_state=0)
    rss0 = _peak_rss_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    if mode == "stream":
        cnn.fit(FirstBatches(source, y, kde=kde, batch_size=batch_size, workers=1, max_queue_size=4))
    else:
        images = np.empty((n, *kde.image_shape_), dtype=np.float32)
        kde.transform_to(source.chunk(0, n), images, chunk_size=64)
        cnn.fit(images, y)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    import keras

    image_mb = 4 * np.prod(kde.image_shape_) / 2**20
    return {"n_clusters": n, "mode": mode, "keras_backend": keras.backend.backend(),
            "architecture": cnn.architecture_, "batch_size": batch_size, "epochs": 1,
            "steps": min(-(-n // batch_size), max_steps or n) if mode == "stream" else -(-n // batch_size),
            "wall_s": wall, "process_cpu_s": cpu,
            "final_loss": cnn.history_["loss"][-1],
            "peak_rss_MB": _peak_rss_mb(), "peak_rss_MB_before_fit": rss0,
            "images_in_memory_MB": n * image_mb,
            "load_average_after": os.getloadavg()}


def _subprocess(worker, *params, env=None):
    cmd = [sys.executable, os.path.abspath(__file__), "worker", worker, *map(str, params)]
    res = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if res.returncode != 0:
        raise RuntimeError(f"{cmd} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=["throughput", "memory", "train3d", "worker"])
    parser.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, default=20000, help="clusters for throughput")
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--memory-sizes", default="2000", help="train3d: sizes also trained in memory")
    parser.add_argument("--chunk-size", type=int, default=1000)
    parser.add_argument("--trace-max", type=int, default=100000,
                        help="memory: largest size also run under tracemalloc")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--steps", type=int, default=0,
                        help="train3d: stop the streamed epoch after this many steps (0: full epoch)")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    if args.part == "worker":
        name, *params = args.rest
        if name == "memory":
            row = memory_worker(int(params[0]), int(params[1]), params[2] == "trace")
        else:
            row = train_worker(int(params[0]), params[1], int(params[2]), int(params[3]))
        print(json.dumps(row))
        return
    if args.part == "throughput":
        result = run_throughput(args)
    else:
        result = _meta()
        result["runs"] = []
        sizes = [int(s) for s in args.sizes.split(",") if s]
        jobs = []
        if args.part == "memory":
            jobs = [("memory", n, args.chunk_size, "trace" if n <= args.trace_max else "rss")
                    for n in sizes]
        else:
            mem = [int(s) for s in args.memory_sizes.split(",") if s]
            jobs = [("train", n, "memory", args.batch_size, 0) for n in mem]
            jobs += [("train", n, "stream", args.batch_size, args.steps) for n in sizes]
        for job in jobs:
            env = {"KERAS_BACKEND": "tensorflow"} if job[0] == "train" else None
            row = _subprocess(*job, env=env)
            result["runs"].append(row)
            print(json.dumps(row), flush=True)
            if args.out:  # keep what is done if a later size is stopped
                write_json(args.out, result, indent=2)
        result["load_average_after"] = os.getloadavg()
    print(write_json(args.out, result, indent=2) if args.out else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
