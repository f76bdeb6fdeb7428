"""Benchmark PhaseSpaceKDE against scipy.stats.gaussian_kde, side by side in one run.

Clusters of about 60 galaxies (toy clusters of 40-60 members plus 20%
interlopers). For each image kind (1D v_los 48; 2D (R, v)
48x48; 3D (x, y, v) 50^3) the script times, per cluster:

* ``PhaseSpaceKDE.transform`` end to end (validation included), product
  kernel, n_jobs=1 and n_jobs=2, and the full-covariance kernel;
* the kernel evaluation alone (``PhaseSpaceKDE._compute`` on validated,
  stacked clusters), to separate the cost of validation;
* the validation alone: ``skcluster.validation.check_cluster_stack`` (what
  ``transform`` runs) and ``check_clusters`` (one cluster at a time);
* ``scipy.stats.gaussian_kde(..., bw_method=0.25)`` evaluated on the same grid
  and normalised, on a subset of clusters (it is slow).

Each timing is the best of ``--repeats`` runs, of wall-clock time and
(separately) of process CPU time; on a shared machine wall time is inflated
by other jobs: compare the load averages, recorded before and after each
kind. Then the streaming mode
(``iter_transform``) produces 3-D images of ``--stream`` clusters chunk by
chunk (dropped after use) and of ``--stream-disk`` clusters into a
``numpy.memmap``, each in a fresh process, with peak traced memory
(tracemalloc) and peak RSS reported.

Run from the repository root::

    python benchmarks/bench_kde.py --out benchmarks/results/kde.json
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

import numpy as np
from scipy.stats import gaussian_kde

from skcluster import PhaseSpaceKDE
from skcluster.testing import make_toy_clusters
from skcluster.validation import check_cluster_stack, check_clusters

from _results import command, machine, utc_now, write_json

KINDS = {"1D": "v", "2D": "rv", "3D": "xyv"}
#: Members per cluster; with 20% interlopers about 60 galaxies.
N_MEMBERS = (40, 60)
TARGET_US = {"1D": 10.0, "2D": 40.0, "3D": 1000.0}


def _image_points(cluster, coords):
    x, y, v = cluster.T
    return {"v": [v], "rv": [np.hypot(x, y), v], "xyv": [x, y, v]}[coords]


def _scipy_images(clusters, kde):
    mesh = np.meshgrid(*kde.grid_, indexing="ij")
    grid = np.vstack([m.ravel() for m in mesh])
    out = np.empty((len(clusters), grid.shape[1]))
    for i, c in enumerate(clusters):
        dens = gaussian_kde(np.vstack(_image_points(c, kde.coords)), bw_method=kde.bandwidth)(grid)
        out[i] = dens / dens.sum()
    return out


def _best(func, n, repeats):
    """Best wall and CPU time per item [us] over ``repeats`` runs of ``func``."""
    wall, cpu = np.inf, np.inf
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        func()
        wall = min(wall, time.perf_counter() - t0)
        cpu = min(cpu, time.process_time() - c0)
    return {"wall_us": 1e6 * wall / n, "cpu_us": 1e6 * cpu / n}


def bench_kind(kind, X, n_fast, n_full, n_scipy, repeats):
    coords = KINDS[kind]
    Xf, Xfull, Xs = X[:n_fast], X[:n_full], X[:n_scipy]
    clusters = check_cluster_stack(Xf, min_galaxies=1)
    row = {"kind": kind, "coords": coords, "n_clusters": {"product": n_fast, "full": n_full,
                                                           "scipy": n_scipy},
           "load_average_before": os.getloadavg()}
    for n_jobs in (1, 2):
        kde = PhaseSpaceKDE(coords=coords, n_jobs=n_jobs).fit(Xf)
        row[f"product_transform_n_jobs{n_jobs}"] = _best(lambda: kde.transform(Xf), n_fast, repeats)
        out = np.empty((n_fast, *kde.image_shape_), dtype=np.float32)
        row[f"product_kernel_only_n_jobs{n_jobs}"] = _best(
            lambda: kde._compute(clusters, out, 0), n_fast, repeats)
    row["grid_shape"] = list(kde.image_shape_)
    row["check_cluster_stack_only"] = _best(lambda: check_cluster_stack(Xf, min_galaxies=1), n_fast,
                                            repeats)
    row["check_clusters_only"] = _best(lambda: check_clusters(Xf, min_galaxies=1), n_fast, repeats)
    full = PhaseSpaceKDE(coords=coords, covariance="full", n_jobs=1).fit(Xfull)
    row["full_transform_n_jobs1"] = _best(lambda: full.transform(Xfull), n_full, max(1, repeats // 2))
    ref = PhaseSpaceKDE(coords=coords, covariance="full", dtype="float64").fit(Xs)
    row["scipy_gaussian_kde"] = _best(lambda: _scipy_images(Xs, ref), n_scipy, max(1, repeats // 2))
    # agreement of the full kernel with scipy on the timed subset
    ours = ref.transform(Xs).reshape(n_scipy, -1)
    theirs = _scipy_images(Xs, ref)
    mask = theirs > 1e-30
    row["full_vs_scipy_max_rel_diff"] = float(np.max(np.abs(ours[mask] - theirs[mask]) / theirs[mask]))
    best = min(row["product_transform_n_jobs1"]["wall_us"], row["product_transform_n_jobs2"]["wall_us"])
    row["best_product_transform_wall_us"] = best
    row["speedup_vs_scipy"] = row["scipy_gaussian_kde"]["wall_us"] / best
    row["best_product_transform_cpu_us"] = min(row["product_transform_n_jobs1"]["cpu_us"],
                                               row["product_transform_n_jobs2"]["cpu_us"])
    row["target_us"] = TARGET_US[kind]
    row["meets_target"] = bool(best <= TARGET_US[kind])
    row["load_average_after"] = os.getloadavg()
    return row


def bench_stream(n_clusters, chunk_size, n_jobs, sink):
    """Stream 3-D images through iter_transform in this process; time and memory.

    Run it in a fresh process (``--stream-worker``) so that the peak RSS is
    the streaming run's own. ``sink`` is 'memmap' (write every chunk to a
    ``numpy.memmap`` on disk; its page cache counts in RSS as file-backed
    pages) or 'none' (drop the chunks: the memory of the transformer alone).
    """
    X, _, _ = make_toy_clusters(n_clusters, n_galaxies=N_MEMBERS, interloper_fraction=0.2,
                                random_state=1)
    rss_inputs = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kde = PhaseSpaceKDE(coords="xyv", n_jobs=n_jobs).fit(X[:1])
    image_mb = 4 * np.prod(kde.image_shape_) / 2**20
    tmpdir = tempfile.mkdtemp()
    path = os.path.join(tmpdir, "images.npy")
    out = None
    if sink == "memmap":
        out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32,
                                        shape=(len(X), *kde.image_shape_))
    tracemalloc.start()
    t0 = time.perf_counter()
    total = 0.0
    for index, images in kde.iter_transform(X, chunk_size=chunk_size):
        if out is not None:
            out[index] = images
        total += float(images.sum())
    elapsed = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    if out is not None:
        out.flush()
        del out
        os.remove(path)
    os.rmdir(tmpdir)
    assert abs(total - len(X)) < 1e-3 * len(X)
    return {
        "n_clusters": len(X), "chunk_size": chunk_size, "n_jobs": n_jobs, "sink": sink,
        "seconds": elapsed, "us_per_cluster": 1e6 * elapsed / len(X),
        "peak_traced_MB": peak / 2**20,
        "one_chunk_of_images_MB": chunk_size * image_mb,
        "all_images_in_memory_would_be_MB": len(X) * image_mb,
        "peak_rss_MB_after_making_inputs": rss_inputs,
        "peak_rss_MB_process": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_stream_subprocess(n_clusters, chunk_size, n_jobs, sink):
    cmd = [sys.executable, os.path.abspath(__file__), "--stream-worker",
           f"{n_clusters},{chunk_size},{n_jobs},{sink}"]
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-fast", type=int, default=10000, help="clusters timed for 1D/2D")
    parser.add_argument("--n-fast-3d", type=int, default=200, help="clusters timed for 3D")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--stream", type=int, default=20000,
                        help="clusters streamed in 3D without storing them")
    parser.add_argument("--stream-disk", type=int, default=2000,
                        help="clusters streamed in 3D into a memmap on disk")
    parser.add_argument("--stream-worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--chunk-size", type=int, default=64)
    parser.add_argument("--kinds", default="1D,2D,3D")
    parser.add_argument("--out", default=None, help="JSON file for the results")
    args = parser.parse_args(argv)
    if args.stream_worker:
        n, chunk, jobs, sink = args.stream_worker.split(",")
        print(json.dumps(bench_stream(int(n), int(chunk), int(jobs), sink)))
        return

    X, _, _ = make_toy_clusters(max(args.n_fast, args.n_fast_3d), n_galaxies=N_MEMBERS,
                                interloper_fraction=0.2, random_state=0)
    n_gal = np.array([len(c) for c in X])
    result = {
        "command": command(__file__),
        "machine": machine(),
        "date_utc": utc_now(),
        "load_average_before": os.getloadavg(),
        "galaxies_per_cluster": {"mean": float(n_gal.mean()), "min": int(n_gal.min()),
                                 "max": int(n_gal.max())},
        "scipy_reference": "scipy.stats.gaussian_kde(points, bw_method=0.25) on the same grid, normalised",
        "kinds": [],
    }
    sizes = {"1D": (args.n_fast, args.n_fast // 4, 200), "2D": (args.n_fast, 100, 100),
             "3D": (args.n_fast_3d, 4, 4)}
    for kind in args.kinds.split(","):
        row = bench_kind(kind, X, *sizes[kind], args.repeats)
        result["kinds"].append(row)
        print(json.dumps({k: row[k] for k in ("kind", "best_product_transform_wall_us",
                                              "best_product_transform_cpu_us", "speedup_vs_scipy",
                                              "meets_target", "load_average_before")}), flush=True)
    result["stream"] = []
    for n, sink in ((args.stream, "none"), (args.stream_disk, "memmap")):
        if n:
            result["stream"].append(run_stream_subprocess(n, args.chunk_size, 2, sink))
            print(json.dumps(result["stream"][-1]), flush=True)
    result["load_average_after"] = os.getloadavg()
    print(write_json(args.out, result, indent=2) if args.out else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
