"""Benchmark: robustness of mass estimators trained on complete SDSS-like mocks to survey effects.

The SDSS-like mock (``skcluster.datasets.make_sdss_mock_catalog``: CLF
galaxies above r = 18.0, observers 100-250 h^-1 Mpc away, 4 h^-1 Mpc
aperture, up to 25 lines of sight) is built once, with one box by default
so the whole run stays within ~15 minutes on a shared 2-core machine. A
CNN2D pipeline ``CylinderCut(4, 2200) -> PhaseSpaceKDE('rv', 48 x 48,
bandwidth 0.25) -> CNNRegressor(20 epochs, batch 100)`` (one per
``--cnn-seeds``) and ``CylinderCut(1.6, 2200) -> MSigma`` are trained on
the complete training sample (``--test-fraction 0.25`` of the 14-15 halos
held out) and evaluated on the complete test sample (14 <= log M <= 15,
three orthogonal lines of sight) with each effect switched on
(``skcluster.metrics.effect_robustness``, ``--n-draws`` realisations each):

* fibre collisions, 55 arcsec (Kodi Ramanah et al. 2021: -0.017 dex for their CNN3D);
* random spectroscopic incompleteness, 67% complete (Kodi Ramanah et al. 2020);
* Gaussian velocity errors of 30 km/s (SDSS) and 100 km/s (Kodi Ramanah et al. 2020);
* miscentring, Rayleigh offsets of 0.1 and 0.3 h^-1 Mpc per axis;
* all of them at once (55", 67%, 30 km/s, 0.1 h^-1 Mpc).

Per effect: median and 16-84 width of the per-cluster deviation eps_effect
(Ho 2019 eq. 14 with the effect in place of the sampling rate), and the
change of the residual bias (median) and scatter (std) against the true
masses.

Usage (from the repository root)::

    KERAS_BACKEND=jax python benchmarks/bench_survey.py --out benchmarks/results/survey.json
"""

import argparse
import os
import resource
import time

import numpy as np

from _results import command, machine, write_json


def _effects(redshift):
    from sklearn.pipeline import make_pipeline

    from skcluster.observe import FibreCollisions, Miscentring, SpectroscopicIncompleteness, VelocityErrors

    return {
        "fibre collisions 55 arcsec": FibreCollisions(55.0, redshift=redshift),
        "random incompleteness 67%": SpectroscopicIncompleteness(0.67),
        "velocity errors 30 km/s": VelocityErrors(30.0),
        "velocity errors 100 km/s": VelocityErrors(100.0),
        "miscentring 0.1 h^-1 Mpc": Miscentring(0.1),
        "miscentring 0.3 h^-1 Mpc": Miscentring(0.3),
        "all (55 arcsec, 67%, 30 km/s, 0.1 h^-1 Mpc)": make_pipeline(
            FibreCollisions(55.0, redshift=redshift), SpectroscopicIncompleteness(0.67), VelocityErrors(30.0),
            Miscentring(0.1)),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--catalog", help="HDF5 SDSS-like catalogue from save_catalog (default: build it)")
    parser.add_argument("--n-realizations", type=int, default=1)
    parser.add_argument("--box-size", type=float, default=400.0)
    parser.add_argument("--test-fraction", type=float, default=0.25,
                        help="fraction of 14-15 halos kept for testing (more test clusters than the default 0.1)")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--n-draws", type=int, default=3)
    parser.add_argument("--cnn-seeds", type=int, nargs="+", default=[0, 1],
                        help="one CNN per seed (the spread shows the training noise of the numbers)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save-catalog", help="write the built catalogue here")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)

    import keras
    from sklearn.pipeline import make_pipeline

    from skcluster import CNNRegressor, CylinderCut, MSigma, PhaseSpaceKDE
    from skcluster.datasets import load_catalog, make_sdss_mock_catalog
    from skcluster.metrics import effect_robustness, effect_robustness_summary, residual_summary
    from skcluster.observe import FibreCollisions

    wall0, cpu0 = time.perf_counter(), time.process_time()
    out = {"benchmark": "survey effects on estimators trained on complete SDSS-like mocks",
           "command": command(__file__, keras_backend=keras.backend.backend()),
           "keras_backend": keras.backend.backend(), "keras_version": keras.__version__,
           "machine": machine(loadavg_start=os.getloadavg())}
    t0 = time.perf_counter()
    if args.catalog:
        cat = load_catalog(args.catalog)
        out["data"] = f"load_catalog({args.catalog!r})"
    else:
        kw = {"n_realizations": args.n_realizations, "box_size": args.box_size,
              "test_fraction": args.test_fraction, "random_state": args.seed}
        cat = make_sdss_mock_catalog(**kw, n_jobs=1)
        out["data"] = f"make_sdss_mock_catalog(**{kw}, n_jobs=1)"
        if args.save_catalog:
            cat.save(args.save_catalog)
    out["data_seconds"] = time.perf_counter() - t0
    out["params"] = cat.params
    tr, te = cat.train, cat.test
    out["n_train"], out["n_test"] = len(tr), len(te)
    out["n_train_halos"], out["n_test_halos"] = int(np.unique(tr.groups).size), int(np.unique(te.groups).size)
    out["median_richness_test"] = float(np.median(te.richness))
    print(f"catalogue: {len(tr)} train, {len(te)} test in {out['data_seconds']:.0f} s", flush=True)

    aperture, v_cut = cat.params["aperture"], cat.params["v_cut"]
    models = {
        f"cnn2d_seed{s}": make_pipeline(CylinderCut(aperture=aperture, v_cut=v_cut, min_galaxies=None),
                                        PhaseSpaceKDE(coords="rv", aperture=aperture, v_cut=v_cut, bandwidth=0.25),
                                        CNNRegressor(epochs=args.epochs, batch_size=100, random_state=s))
        for s in args.cnn_seeds
    }
    # M-sigma in Ho et al.'s 1.6 h^-1 Mpc cylinder (in the 4 h^-1 Mpc one interlopers dominate sigma_v)
    models["msigma_aperture1.6"] = make_pipeline(CylinderCut(aperture=1.6, v_cut=v_cut, min_galaxies=None),
                                                 MSigma())
    effects = _effects(te.redshift)
    fc = FibreCollisions(55.0, redshift=te.redshift, random_state=0)
    fc.fit_transform(te.X)
    out["fibre_collisions_removed_fraction_test"] = fc.removed_fraction_
    out["protocol"] = ("train on the complete training sample; effect_robustness on the complete test sample with "
                       f"n_draws={args.n_draws}, random_state={args.seed}; summary by effect_robustness_summary")
    out["models"] = {}
    for name, model in models.items():
        t0 = time.perf_counter()
        model.fit(tr.X, tr.y)
        t_fit = time.perf_counter() - t0
        t0 = time.perf_counter()
        res = effect_robustness(model, te.X, effects, y=te.y, n_draws=args.n_draws, random_state=args.seed)
        summary = effect_robustness_summary(res)
        base = residual_summary(te.y, res.prediction_full)
        out["models"][name] = {"fit_seconds": t_fit, "evaluate_seconds": time.perf_counter() - t0,
                               "complete": {k: float(v) for k, v in base.items()}, "effects": summary}
        print(f"{name}: complete bias {summary['none']['bias']:+.3f} scatter {summary['none']['scatter']:.3f}",
              flush=True)
        for eff in effects:
            s = summary[eff]
            print(f"  {eff:45s} eps median {s['median']:+.4f} width {s['width']:.4f}  "
                  f"d_bias {s['delta_bias']:+.4f} d_scatter {s['delta_scatter']:+.4f}", flush=True)
    out["machine"]["loadavg_end"] = os.getloadavg()
    out["wall_seconds"] = time.perf_counter() - wall0
    out["cpu_seconds"] = time.process_time() - cpu0
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    write_json(args.out, out)
    print(f"wrote {args.out} ({out['wall_seconds']:.0f} s wall, {out['cpu_seconds']:.0f} s CPU)")


if __name__ == "__main__":
    main()
