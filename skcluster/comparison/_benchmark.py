"""The main job: build the mock, compare the estimators, write the report."""

import os
import platform
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from ..metrics import interval_coverage
from ._models import default_models
from ._report import comparison_statistics, finite_predictions, write_report
from ._runner import COVERAGE_LEVELS, run_comparison
from ._verdicts import VERDICT_RULE, check_verdict

__all__ = ["QUICK_CATALOG", "make_main_job_catalog", "run_benchmark"]

#: Catalogue settings of ``--quick``: two small N-body boxes (160^3 particles, the default mass resolution; about a
#: minute each to simulate, then cached), 30% of the test-range halos tested.
QUICK_CATALOG = {"n_realizations": 2, "box_size": 300.0, "n_particles": 160, "test_fraction": 0.3}
#: Models whose final fit gets the sampling-robustness test (Ho et al. 2019 Table 4).
ROBUSTNESS_MODELS = ("msigma", "sdm_2d", "cnn_1d", "cnn_2d")
#: Credibility levels of the coverage acceptance checks (the rest of the curve is reported, not checked).
CHECKED_LEVELS = ("0.68", "0.95")
#: Largest accepted distance of a checked coverage from its credibility level.
COVERAGE_TOLERANCE = 0.03
#: Test clusters of the robustness test (full, quick): SDM predictions cost one divergence per training cluster.
ROBUSTNESS_CLUSTERS = (200, 60)


def make_main_job_catalog(*, quick=False, random_state=0, progress=False):
    """Build the built-in mock catalogue of the main job.

    Not to be confused with :func:`skcluster.datasets.build_catalog`, which
    builds a catalogue from the user's own halo and galaxy tables.

    Parameters
    ----------
    quick : bool, default=False
        Use :data:`QUICK_CATALOG` instead of the full default catalogue.
    random_state : int, default=0
        Seed.
    progress : bool, default=False
        Show progress bars.

    Returns
    -------
    catalog : MockCatalog
        See :func:`skcluster.datasets.make_mock_catalog`.
    """
    from ..datasets import make_mock_catalog

    kwargs = dict(QUICK_CATALOG) if quick else {}
    return make_mock_catalog(random_state=random_state, progress=progress, **kwargs)


@dataclass
class BenchmarkReport:
    """What :func:`run_benchmark` produced.

    ``checks`` holds the acceptance checks as (description, verdict) pairs,
    the verdict being ``"PASS"``, ``"FAIL"`` or ``"INCONCLUSIVE"`` (see
    :func:`check_verdict`); ``ok`` is False when a model failed or a check
    FAILed (an INCONCLUSIVE check does not make the run fail).
    """

    paths: dict
    stats: dict
    summary_text: str
    ok: bool
    checks: list = field(default_factory=list)


def _checks(stats):
    """The main job's acceptance checks, as (description, verdict) pairs.

    The verdict (PASS, FAIL or INCONCLUSIVE) is :func:`check_verdict`'s;
    the scatter checks have no standard error, so they PASS or FAIL.
    """
    out = []

    def std(name):
        e = stats.get(name)
        return None if not e or e.get("error") else e["summary"]["std"]

    cnn, ms, flow = std("cnn_2d"), std("msigma"), std("flow")
    if cnn is not None and ms is not None:
        out.append((f"CNN2D scatter {cnn:.3f} <= 0.6 x contaminated M-sigma {ms:.3f} (paper ratio 0.42)",
                    "PASS" if cnn <= 0.6 * ms else "FAIL"))
    if flow is not None and cnn is not None:
        out.append((f"flow scatter {flow:.3f} <= CNN2D {cnn:.3f}", "PASS" if flow <= cnn else "FAIL"))
    for e in stats.values():
        # SBI's posteriors are calibrated for clusters drawn like the calibration set (the flat training
        # sample); on the mass-function test sample their prior is wrong by design (see the SBI guide)
        errors = e.get("coverage_calibration_prior_se") or {}
        for lvl, cov in (e.get("coverage_calibration_prior") or {}).items():
            if lvl not in CHECKED_LEVELS:
                continue
            se = errors.get(lvl)
            se_text = f" +- {se:.3f} (halo-grouped standard error)" if se is not None else ""
            out.append((f"{e['label']}: {float(lvl):.0%} interval covers {cov:.3f}{se_text} of held-out "
                        f"clusters drawn from the calibration prior (tolerance +-{COVERAGE_TOLERANCE})",
                        check_verdict(cov, float(lvl), COVERAGE_TOLERANCE, se)))
    return out


def _figures(results, output, train_y):
    """Predicted-vs-true and residual figures; returns (title, file) pairs.

    Drawn on :class:`matplotlib.figure.Figure` objects (no pyplot, so no
    global backend switch); nothing is drawn without matplotlib.
    """
    try:
        from matplotlib import colormaps
        from matplotlib.figure import Figure
    except ImportError:
        return []
    from ..plotting import plot_predicted_vs_true, plot_residual_pdf

    ok = [r for r in results.values() if r.error is None]
    if not ok:
        return []
    ncol = min(4, len(ok))
    nrow = int(np.ceil(len(ok) / ncol))
    fig = Figure(figsize=(3.6 * ncol, 3.4 * nrow))
    # shared axes: the models' panels compare by eye
    axes = fig.subplots(nrow, ncol, squeeze=False, sharex=True, sharey=True)
    for k, (ax, res) in enumerate(zip(axes.flat, ok)):
        plot_predicted_vs_true(*finite_predictions(res), ax=ax)
        ax.set_title(res.spec.label, fontsize=9)
        # shared axes: axis labels on the outer panels only; tick labels under every panel with none below it
        if k % ncol:
            ax.set_ylabel("")
        if k + ncol < len(ok):
            ax.set_xlabel("")
        else:
            ax.xaxis.set_tick_params(labelbottom=True)
    for ax in axes.flat[len(ok):]:
        ax.set_visible(False)
    fig.tight_layout()
    fig.savefig(os.path.join(output, "predicted_vs_true.png"), dpi=110)
    figs = [("Predicted vs true mass (median, 16-84 and 3-97 percentile bands)", "predicted_vs_true.png")]
    palette = colormaps["tab20"].colors
    fig = Figure(figsize=(6.4, 4.2))
    ax = fig.subplots()
    for k, res in enumerate(ok):
        plot_residual_pdf(*finite_predictions(res), ax=ax, color=palette[k % len(palette)], label=res.spec.label,
                          gaussian=False)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(os.path.join(output, "residual_pdfs.png"), dpi=110)
    figs.append(("Residual distributions", "residual_pdfs.png"))
    prob = [(k, r) for k, r in enumerate(ok) if r.intervals is not None]
    if prob:
        fig = Figure(figsize=(4.6, 4.4))
        ax = fig.subplots()
        order = np.argsort(COVERAGE_LEVELS)
        levels = np.asarray(COVERAGE_LEVELS)[order]
        ax.plot([0, 1], [0, 1], color="0.5", lw=1, ls=":")
        for k, res in prob:
            color = palette[k % len(palette)]
            cov = [interval_coverage(res.y_true, res.intervals[:, :, j]) for j in order]
            ax.plot(levels, cov, "o-", ms=3, color=color, label=f"{res.spec.label} (test sample)")
            if res.extra.get("train_intervals") is not None:
                cov = [interval_coverage(train_y, res.extra["train_intervals"][:, :, j]) for j in order]
                ax.plot(levels, cov, "s--", ms=3, color=color, label=f"{res.spec.label} (calibration prior)")
        ax.set_xlabel("credibility level of the central interval")
        ax.set_ylabel("fraction of true masses inside")
        ax.legend(fontsize=6)
        fig.tight_layout()
        fig.savefig(os.path.join(output, "coverage.png"), dpi=110)
        figs.append(("Coverage of the central credible intervals (Kodi Ramanah et al. 2021, Fig. 6)", "coverage.png"))
    return figs


def run_benchmark(output="skcluster-report", *, quick=False, catalog_path=None, models=None, n_splits=5,
                  random_state=0, log=None, save_models=True):
    """Run the papers' comparison on the built-in mock and write the report.

    Parameters
    ----------
    output : str, default="skcluster-report"
        Report directory: ``report.md``, ``report.html``, ``results.json``,
        figures, and the final fitted models under ``models/`` (``.skops``,
        the safe format of :func:`skcluster.io.save_model`, and ``.joblib``).
    quick : bool, default=False
        Small catalogue and few epochs (minutes on 2 cores).
    catalog_path : str, default=None
        A catalogue written by ``skcluster simulate``; built if None.
    models : list of str, default=None
        Subset of :data:`~skcluster.comparison.MODEL_NAMES`; all if None.
    n_splits : int, default=5
        Number of halo-grouped folds.
    random_state : int, default=0
        Seed of the catalogue, the folds and the models.
    log : callable, default=None
        Progress messages (e.g. ``print``).
    save_models : bool, default=True
        Save the final fitted models.

    Returns
    -------
    report : BenchmarkReport
    """
    progress = log is not None
    log = log or (lambda msg: None)
    t_start, cpu_start = time.perf_counter(), time.process_time()
    specs = default_models()
    if models is not None:
        known = {s.name for s in specs}
        unknown = sorted(set(models) - known)
        if unknown:
            raise ValueError(f"Unknown model(s) {unknown}; choose from {sorted(known)}.")
        # an SBI model is cross-fitted from its point model: run that one too, first
        wanted = set(models) | {s.calibrates for s in specs if s.name in models and s.calibrates}
        specs = [s for s in specs if s.name in wanted]
    if catalog_path:
        from ..datasets import load_catalog

        catalog = load_catalog(catalog_path)
        log(f"loaded {catalog_path}")
    else:
        log("building the mock catalogue" + (" (quick)" if quick else ""))
        t0 = time.perf_counter()
        catalog = make_main_job_catalog(quick=quick, random_state=random_state, progress=progress)
        log(f"catalogue built in {time.perf_counter() - t0:.1f} s")
    results = run_comparison(catalog, specs, n_splits=n_splits, quick=quick, random_state=random_state, log=log)
    log("statistics and robustness")
    t0 = time.perf_counter()
    stats = comparison_statistics(results, catalog, robustness_models=ROBUSTNESS_MODELS,
                                  robustness_clusters=ROBUSTNESS_CLUSTERS[bool(quick)], random_state=random_state)
    log(f"statistics and robustness in {time.perf_counter() - t0:.1f} s")
    os.makedirs(output, exist_ok=True)
    if save_models:
        import joblib

        from ..io import save_model

        os.makedirs(os.path.join(output, "models"), exist_ok=True)
        for name, res in results.items():
            if res.final_model is not None:
                # the safe format for sharing, and joblib for speed and for any estimator skops cannot hold
                save_model(res.final_model, os.path.join(output, "models", f"{name}.skops"))
                joblib.dump(res.final_model, os.path.join(output, "models", f"{name}.joblib"))
    figures = _figures(results, output, np.asarray(catalog.train.y, dtype=float))
    checks = _checks(stats)
    backend = os.environ.get("KERAS_BACKEND", "tensorflow (Keras default)")
    tr, te = catalog.train, catalog.test
    header = [
        f"catalogue: {len(tr.y)} training and {len(te.y)} test observations of "
        f"{len(np.unique(np.concatenate([tr.groups, te.groups])))} halos; test log10 M200c "
        f"{np.min(te.y):.2f}-{np.max(te.y):.2f} [h^-1 Msun]",
        f"{n_splits}-fold halo-grouped cross-validation (train on the flat sample, test on the mass-function sample)",
        f"mode: {'quick' if quick else 'full'}; Keras backend: {backend}; Python {platform.python_version()}; "
        f"{os.cpu_count()} cores; load {os.getloadavg()[0]:.1f}",
        f"total time: {time.perf_counter() - t_start:.0f} s wall, {time.process_time() - cpu_start:.0f} s CPU "
        f"(this process, all its threads)",
    ] + ([f"verdicts: {VERDICT_RULE}"] if checks else [])
    header += [f"check {verdict}: {desc}" for desc, verdict in checks]
    command = " ".join(["skcluster"] + sys.argv[1:]) if sys.argv and sys.argv[0].endswith("skcluster") else None
    if command and os.environ.get("KERAS_BACKEND"):  # the backend is part of the reproducing command
        command = f"KERAS_BACKEND={os.environ['KERAS_BACKEND']} {command}"
    paths = write_report(stats, output, header_lines=header, figures=figures, command=command)
    lines = [f"{e['label']:<32s} std {e['summary']['std']:.3f} dex" if not e["error"]
             else f"{e['label']:<32s} FAILED: {e['error']}" for e in stats.values()]
    lines += header[-len(checks):] if checks else []
    lines += _verdict_summary(checks, quick=quick)
    lines.append(f"report: {paths['markdown']} and {paths['html']}")
    ok = all(e["error"] is None for e in stats.values()) and all(v != "FAIL" for _, v in checks)
    return BenchmarkReport(paths=paths, stats=stats, summary_text="\n".join(lines), ok=ok, checks=checks)


def _verdict_summary(checks, quick=False):
    """Closing lines of the summary: how many checks failed or were inconclusive, and what that means."""
    failed = sum(v == "FAIL" for _, v in checks)
    unsure = sum(v == "INCONCLUSIVE" for _, v in checks)
    lines = []
    if failed:
        lines.append(f"{failed} check(s) FAILED: the data exclude meeting their tolerance.")
    if unsure:
        larger = "e.g. without --quick" if quick else "e.g. more realisations (boxes) in the catalogue"
        lines.append(f"{unsure} check(s) INCONCLUSIVE: the sample is too small to test their tolerance "
                     f"(not a failure; a larger run, {larger}, decides).")
    return lines
