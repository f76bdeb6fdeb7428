"""The ``skcluster`` command-line program: simulate, benchmark, train, predict.

Run ``skcluster --help`` or ``skcluster COMMAND --help``. Exit codes: 0 on
success, 1 when the work failed (the message says why), 2 for bad usage.
``skcluster benchmark`` exits 1 when a model failed or an acceptance check
FAILed; a check that is INCONCLUSIVE (the sample is too small to test its
tolerance) is reported, and the exit code stays 0.
"""

import argparse
import os
import sys

__all__ = ["main"]


def _cmd_simulate(args):
    from .comparison import make_main_job_catalog

    catalog = make_main_job_catalog(quick=args.quick, random_state=args.random_state, progress=not args.quiet)
    from .datasets import save_catalog

    save_catalog(catalog, args.output)
    n_train, n_test = len(catalog.train.y), len(catalog.test.y)
    print(f"wrote {args.output}: {n_train} training and {n_test} test observations")
    return 0


def _cmd_benchmark(args):
    from .comparison import run_benchmark

    report = run_benchmark(
        output=args.output,
        quick=args.quick,
        catalog_path=args.catalog,
        models=args.models.split(",") if args.models else None,
        n_splits=args.n_splits,
        random_state=args.random_state,
        log=None if args.quiet else print,
    )
    print(report.summary_text)
    return 0 if report.ok else 1


def _load_any_model(path):
    import joblib

    if str(path).endswith(".skops"):
        from .io import load_model

        return load_model(path)
    return joblib.load(path)  # joblib/pickle: runs code from the file, so only load files you made or trust


def _cmd_predict_catalog(args):
    from collections import Counter

    from .catalog import predict_catalog

    if args.field is not None:
        raise ValueError("give either a FIELD or --galaxies with --clusters, not both.")
    if not (args.galaxies and args.clusters):
        raise ValueError("catalogue prediction needs both --galaxies G and --clusters C.")
    if not args.output:
        raise ValueError("catalogue prediction needs an output table: -o OUT (.fits, .ecsv, .csv, .parquet).")
    model = _load_any_model(args.model)
    table = predict_catalog(model, args.galaxies, args.clusters, progress=not args.quiet)
    table.meta.pop("flags", None)
    table.write(args.output, overwrite=True)
    counts = Counter(f for row in table["flags"] for f in row.split(",") if f)
    print(f"wrote {args.output}: {len(table)} clusters, {int(table['ok'].sum())} without a quality flag")
    for flag, n in sorted(counts.items()):
        print(f"  {flag}: {n}")
    return 0


def _cmd_train(args):
    from .catalog import train_survey_model
    from .io import save_model

    mock_params = None
    if args.quick:
        from .datasets import SDSS_TINY_PARAMS

        mock_params = SDSS_TINY_PARAMS
    model = train_survey_model(args.survey, args.clusters, mock_params=mock_params, calibrate=not args.no_calibrate,
                               progress=not args.quiet, random_state=args.random_state)
    save_model(model, args.output)
    lo, hi = model.training_redshift_range_
    print(f"wrote {args.output}: survey {args.survey}, clusters at {lo:.3f} < z < {hi:.3f}")
    return 0


def _cmd_predict(args):
    import numpy as np

    from .datasets import FIELDS, load_field, read_field

    if args.galaxies or args.clusters:
        return _cmd_predict_catalog(args)
    if args.field is None:
        raise ValueError("give a FIELD (a shipped field name or a file) or --galaxies G --clusters C.")
    if args.field in FIELDS:
        field = load_field(args.field)
        cluster, center = field.cluster, field.center
    else:
        if not os.path.exists(args.field):
            raise FileNotFoundError(f"No field file {args.field!r}, and it is not a shipped field {sorted(FIELDS)}.")
        cluster = read_field(args.field, center=args.center, radius_h=args.radius_h,
                             radius_physical=args.radius_physical)
        center = args.center
    model = _load_any_model(args.model)
    X = [cluster]
    median = float(np.asarray(model.predict(X))[0])
    line = f"log10 M200c = {median:.3f} [h^-1 Msun]"
    if hasattr(model, "predict_interval"):
        lo, hi = np.asarray(model.predict_interval(X, confidence_level=args.level)).reshape(2)
        line += f"; {100 * args.level:.0f}% interval [{lo:.3f}, {hi:.3f}] (-{median - lo:.3f} / +{hi - median:.3f} dex)"
    else:
        line += " (point estimate: this model gives no interval; wrap it in SBICalibrator for one)"
    where = f" at z = {center[2]}" if center is not None else ""
    print(f"{args.field}{where}: {len(cluster)} galaxies in the field")
    print(line)
    return 0


def _runs_3d_network(args):
    """Whether the command will run a 3D network (``benchmark`` with the CNN3D among its models)."""
    if args.command != "benchmark":
        return False
    from .comparison import THREE_D_MODELS

    return args.models is None or bool(THREE_D_MODELS & set(args.models.split(",")))


def _choose_keras_backend(three_d=False):
    """Set ``KERAS_BACKEND`` for this process when the user has not (before Keras is imported).

    An explicit ``KERAS_BACKEND`` is always kept; otherwise
    :func:`skcluster.estimators.keras_backend_for`: TensorFlow when a 3D
    network will run and it is installed, JAX otherwise (faster for the
    1D/2D networks on CPU), whichever is installed if only one is.
    """
    from .estimators._backend import keras_backend_for

    backend = keras_backend_for(three_d=three_d)
    if backend is not None and "KERAS_BACKEND" not in os.environ:
        os.environ["KERAS_BACKEND"] = backend


def _parser():
    parser = argparse.ArgumentParser(
        prog="skcluster",
        description="Dynamical masses of galaxy clusters: build mock catalogues, compare estimators, predict masses.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("simulate", help="write a mock cluster catalogue (HDF5) from the built-in simulator")
    p.add_argument("--output", "-o", default="mock_catalog.h5", help="output HDF5 file (default: %(default)s)")
    p.add_argument("--quick", action="store_true", help="a small catalogue, built in seconds")
    p.add_argument("--random-state", type=int, default=0, help="seed (default: %(default)s)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=_cmd_simulate)

    p = sub.add_parser("benchmark", help="compare the estimators on the mock under halo-grouped cross-validation")
    p.add_argument("--output", "-o", default="skcluster-report", help="report directory (default: %(default)s)")
    p.add_argument("--quick", action="store_true", help="small catalogue, few epochs: minutes on 2 cores")
    p.add_argument("--catalog", help="use this catalogue (from `skcluster simulate`) instead of building one")
    p.add_argument("--models", help="comma-separated subset of models (default: all)")
    p.add_argument("--n-splits", type=int, default=5, help="number of halo-grouped folds (default: %(default)s)")
    p.add_argument("--random-state", type=int, default=0, help="seed (default: %(default)s)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=_cmd_benchmark)

    p = sub.add_parser("predict", help="apply a saved model to a real cluster field and print its mass, or to a "
                                       "galaxy table and a cluster list (--galaxies, --clusters) and write a table")
    p.add_argument("model", help="a fitted pipeline: .skops (safe format, skcluster.io.save_model) or joblib "
                              "(loading runs code from the file: trusted files only), e.g. "
                              "skcluster-report/models/NAME.skops")
    p.add_argument("field", nargs="?", help="a shipped field name (coma_desi, coma_sdss, a2670_sdss, a2029_sohn2019, "
                              "a2744_owers2011) or a CSV/text file")
    p.add_argument("--center", type=float, nargs=3, metavar=("RA", "DEC", "Z"),
                   help="cluster centre [deg, deg, redshift], needed for files with ra, dec, z columns")
    p.add_argument("--radius-h", type=float, help="h used for radii given in Mpc (R_proj, v_los files)")
    p.add_argument("--radius-physical", action="store_true", help="radii are physical, not comoving")
    p.add_argument("--level", type=float, default=0.68, help="credibility of the interval (default: %(default)s)")
    p.add_argument("--galaxies", help="galaxy redshift table (ra, dec, z; CSV, FITS, ECSV, Parquet)")
    p.add_argument("--clusters", help="cluster table (name, ra, dec, z)")
    p.add_argument("--output", "-o", help="output table of masses and flags (with --galaxies/--clusters)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_predict)

    p = sub.add_parser("train", help="train a calibrated model on a mock matched to a survey and save it (.skops)")
    p.add_argument("--survey", default="sdss", help="survey preset: sdss or desi (default: %(default)s)")
    p.add_argument("--clusters", help="cluster table (name, ra, dec, z): train at their redshifts")
    p.add_argument("--output", "-o", default="model.skops", help="output model (default: %(default)s)")
    p.add_argument("--quick", action="store_true", help="a tiny mock (SDSS_TINY_PARAMS): seconds, for trying it")
    p.add_argument("--no-calibrate", action="store_true", help="point estimates only (no SBICalibrator)")
    p.add_argument("--random-state", type=int, default=0, help="seed (default: %(default)s)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=_cmd_train)
    return parser


def main(argv=None):
    """Entry point of the ``skcluster`` command.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    status : int
        0 on success, 1 on failure (for ``benchmark``: a model failed or a
        check FAILed), 2 on bad usage.

    Examples
    --------
    >>> from skcluster.cli import main
    >>> main(["predict", "no-such-model.joblib", "no-such-field.csv"])  # the message goes to stderr
    1
    """
    parser = _parser()
    args = parser.parse_args(argv)
    _choose_keras_backend(three_d=_runs_3d_network(args))
    try:
        return args.func(args)
    except (ValueError, TypeError, FileNotFoundError, OSError, ImportError) as exc:
        print(f"skcluster {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
