"""Statistics of a comparison, and the report written from them (Markdown, HTML, JSON)."""

import html
import json
import os

import numpy as np

from ..metrics import (coverage_standard_error, interval_coverage, residual_summary, robustness_summary,
                       sampling_robustness)
from ._runner import COVERAGE_LEVELS

__all__ = ["comparison_statistics", "write_report"]

#: Mass range [log10 h^-1 Msun] of the papers' "14-15" statistics.
MASS_RANGE_14_15 = (14.0, 15.0)
#: Sampling rates of the robustness test (Ho et al. 2019, Table 4 uses 0.6 <= r <= 0.8).
ROBUSTNESS_RATES = (0.6, 0.7, 0.8)


def finite_predictions(res):
    """(y_true, y_pred) of a ModelResult where the prediction is finite."""
    ok = np.isfinite(res.y_pred)
    return res.y_true[ok], res.y_pred[ok]


def comparison_statistics(results, catalog=None, *, robustness_models=(), robustness_clusters=200,
                          random_state=0):
    """Table-2, coverage, timing and Table-4 statistics of every model.

    Parameters
    ----------
    results : dict of str to ModelResult
        From :func:`run_comparison`.
    catalog : object, default=None
        The catalogue (its test sample feeds the robustness test; its
        training-sample masses score the SBI models' calibration-prior
        coverage).
    robustness_models : sequence of str, default=()
        Models whose final fit gets the sampling-robustness test.
    robustness_clusters : int, default=200
        Number of test clusters in the robustness test.
    random_state : int, default=0
        Seed of the robustness subsamples.

    Returns
    -------
    stats : dict
        Per model: ``summary`` (all test clusters), ``summary_14_15``,
        ``coverage`` (per level, probabilistic models),
        ``coverage_calibration_prior`` (cross-fitted SBI models),
        ``robustness``,
        timings, ``paper`` and ``error``.
    """
    stats = {}
    for name, res in results.items():
        entry = {"label": res.spec.label, "sample": res.spec.sample, "paper": res.spec.paper, "error": res.error,
                 "fit_seconds_per_fold": res.fit_seconds, "predict_us_per_cluster": res.predict_us_per_cluster}
        if res.error is None:
            yt, yp = finite_predictions(res)
            entry["summary"] = residual_summary(yt, yp)
            sel = (yt >= MASS_RANGE_14_15[0]) & (yt <= MASS_RANGE_14_15[1])
            entry["summary_14_15"] = residual_summary(yt[sel], yp[sel]) if sel.sum() >= 3 else None
            if res.intervals is not None:
                entry["coverage"] = {
                    f"{lvl:.2f}": float(interval_coverage(res.y_true, res.intervals[:, :, k]))
                    for k, lvl in enumerate(COVERAGE_LEVELS)
                }
            if res.extra.get("train_intervals") is not None and catalog is not None:
                y_train = np.asarray(catalog.train.y, dtype=float)
                iv_train = res.extra["train_intervals"]
                entry["coverage_calibration_prior"] = {
                    f"{lvl:.2f}": float(interval_coverage(y_train, iv_train[:, :, k]))
                    for k, lvl in enumerate(COVERAGE_LEVELS)
                }
                # lines of sight of one halo are covered together: the halo-grouped standard error
                entry["coverage_calibration_prior_se"] = {
                    f"{lvl:.2f}": float(coverage_standard_error(y_train, iv_train[:, :, k],
                                                                groups=np.asarray(catalog.train.groups)))
                    for k, lvl in enumerate(COVERAGE_LEVELS)
                }
            if name in robustness_models and res.final_model is not None and catalog is not None:
                X = catalog.test.X_pure if res.spec.sample == "pure" else catalog.test.X
                idx = np.random.default_rng(random_state).permutation(len(X))[:robustness_clusters]
                rob = sampling_robustness(res.final_model, [X[i] for i in idx], rates=list(ROBUSTNESS_RATES),
                                          random_state=random_state)
                entry["robustness"] = robustness_summary(rob, rate_range=(0.6, 0.8))
        stats[name] = entry
    return stats


def _fmt(x, nd=3):
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "-"
    return f"{x:.{nd}f}"


def _tables(stats):
    """Rows of the report tables (header, rows) as plain strings."""
    t2 = (["model", "catalogue", "n", "median", "p16", "p84", "std", "skewness", "kurtosis", "std 14-15",
           "paper std", "fit s/fold", "us/cluster"], [])
    cov = (["model", "68% coverage", "95% coverage", "68% (calibration prior)", "95% (calibration prior)"], [])
    t4 = (["model", "median eps(0.6-0.8)", "width p84-p16", "paper width"], [])
    fail = (["model", "error"], [])
    for name, e in stats.items():
        if e["error"]:
            fail[1].append([e["label"], e["error"]])
            continue
        s, s15 = e["summary"], e.get("summary_14_15") or {}
        t2[1].append([e["label"], e["sample"], str(s["n"]), _fmt(s["median"]), _fmt(s["p16"]), _fmt(s["p84"]),
                      _fmt(s["std"]), _fmt(s["skewness"], 2), _fmt(s["kurtosis"], 2), _fmt(s15.get("std")),
                      _fmt(e["paper"].get("std")), _fmt(e["fit_seconds_per_fold"], 1),
                      _fmt(e["predict_us_per_cluster"], 0)])
        if "coverage" in e:
            prior = e.get("coverage_calibration_prior") or {}
            se = e.get("coverage_calibration_prior_se") or {}

            def with_se(lvl):
                return _fmt(prior.get(lvl)) + (f" +- {_fmt(se[lvl])}" if lvl in se and lvl in prior else "")

            cov[1].append([e["label"], _fmt(e["coverage"]["0.68"]), _fmt(e["coverage"]["0.95"]),
                           with_se("0.68"), with_se("0.95")])
        if "robustness" in e:
            r = e["robustness"]
            t4[1].append([e["label"], _fmt(r["median"]), _fmt(r["width"]), _fmt(e["paper"].get("robustness_width"))])
    return {"Residuals of log10 M200c (Ho et al. 2019 Table 2 columns, dex)": t2,
            "Posterior calibration (fraction of clusters inside the central interval: test sample, which follows "
            "the mass function; and, for SBI, the held-out training-sample projections, which follow the flat "
            "prior the posteriors are calibrated on, with the halo-grouped standard error)": cov,
            "Sampling robustness (Ho et al. 2019 Table 4: galaxies subsampled at rate 0.6-0.8)": t4,
            "Models that failed": fail}


def _markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _html_table(header, rows):
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return float(obj) if np.isfinite(obj) else None
    if isinstance(obj, (np.integer,)):
        return int(obj)
    return obj


def write_report(stats, output, *, header_lines=(), figures=(), command=None):
    """Write ``report.md``, ``report.html`` and ``results.json`` into ``output``.

    Parameters
    ----------
    stats : dict
        From :func:`comparison_statistics`.
    output : str
        Directory (created if needed).
    header_lines : sequence of str, default=()
        Lines describing the run (catalogue, backend, time), shown first.
    figures : sequence of (str, str), default=()
        (title, file name relative to ``output``) of each figure.
    command : str, default=None
        The command that produced the report, recorded in every file.

    Returns
    -------
    paths : dict
        Paths of the written files.
    """
    os.makedirs(output, exist_ok=True)
    tables = {k: v for k, v in _tables(stats).items() if v[1]}
    md = ["# skcluster benchmark report", ""]
    if command:
        md += [f"Command: `{command}`", ""]
    md += [f"- {line}" for line in header_lines] + [""]
    for title, (header, rows) in tables.items():
        md += [f"## {title}", "", _markdown_table(header, rows), ""]
    for title, fname in figures:
        md += [f"## {title}", "", f"![{title}]({fname})", ""]
    paths = {"markdown": os.path.join(output, "report.md"), "html": os.path.join(output, "report.html"),
             "json": os.path.join(output, "results.json")}
    with open(paths["markdown"], "w") as f:
        f.write("\n".join(md))
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>skcluster benchmark report</title>",
             "<style>body{font-family:sans-serif;max-width:70em;margin:2em auto}table{border-collapse:collapse}"
             "td,th{border:1px solid #bbb;padding:0.2em 0.6em;text-align:right}img{max-width:100%}</style>",
             "</head><body><h1>skcluster benchmark report</h1>"]
    if command:
        parts.append(f"<p>Command: <code>{html.escape(command)}</code></p>")
    parts.append("<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in header_lines) + "</ul>")
    for title, (header, rows) in tables.items():
        parts.append(f"<h2>{html.escape(title)}</h2>" + _html_table(header, rows))
    for title, fname in figures:
        parts.append(f"<h2>{html.escape(title)}</h2><img src='{html.escape(fname)}' alt='{html.escape(title)}'>")
    parts.append("</body></html>")
    with open(paths["html"], "w") as f:
        f.write("\n".join(parts))
    with open(paths["json"], "w") as f:
        json.dump(_jsonable({"command": command, "header": list(header_lines), "models": stats}), f, indent=2)
    return paths
