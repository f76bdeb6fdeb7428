"""Robustness of mass predictions to observational effects (fibre collisions, incompleteness, ...).

The analogue of the sampling robustness of Ho et al. (2019, §5.4, Table 4)
for any degradation of the data: for each effect, the fitted estimator
predicts the degraded clusters ``n_draws`` times and

    eps_effect = log10( mean_draws M_pred(effect) / M_pred(none) )    [dex]

per cluster (eq. 14 with the effect in place of the sampling rate). With
the true masses the change of the residual bias and scatter is reported
too (e.g. Kodi Ramanah et al. 2021: fibre collisions bias CNN masses by
-0.017 dex).
"""

import numbers

import numpy as np
from scipy.special import logsumexp
from sklearn.base import clone
from sklearn.utils import Bunch, check_random_state

from ..validation import check_clusters, check_log_mass
from ._residuals import residual_summary
from ._robustness import check_fitted_predictor, percentile_summary

__all__ = ["effect_robustness", "effect_robustness_summary"]


def _apply(effect, X, seed):
    """Degrade ``X`` with ``effect`` (transformer or callable) using the integer ``seed``."""
    if hasattr(effect, "get_params"):
        # every random_state, also those of the steps of a Pipeline, gets its own seed
        keys = [k for k in effect.get_params(deep=True) if k == "random_state" or k.endswith("__random_state")]
        if keys:
            effect = clone(effect).set_params(**{k: (seed + j) % 2**31 for j, k in enumerate(keys)})
            return effect.fit_transform(X) if hasattr(effect, "fit_transform") else effect.transform(X)
    if hasattr(effect, "transform"):
        return effect.transform(X)
    if callable(effect):
        return effect(X, random_state=seed)
    raise TypeError(f"An effect must be a transformer (transform method) or a callable f(X, random_state); got "
                    f"{type(effect).__name__}.")


def effect_robustness(estimator, X, effects, *, y=None, n_draws=3, random_state=None):
    """Shift of a fitted estimator's predictions under each observational effect.

    Parameters
    ----------
    estimator : fitted estimator or Pipeline
        ``predict`` takes a list of clusters and returns log10 M200c [h^-1 Msun].
    X : list of ndarray of shape (n_galaxies, 3)
        Complete clusters (x_proj [h^-1 Mpc], y_proj [h^-1 Mpc], v_los [km/s]).
    effects : dict of str to transformer or callable
        Effects to switch on one at a time, e.g.
        ``{"fibre collisions": FibreCollisions(redshift=z), "velocity errors": VelocityErrors(100.0)}``.
        A transformer with ``random_state`` parameters (also inside a
        Pipeline) is cloned with new seeds for each draw; a callable is called as ``f(X, random_state=seed)``.
        Chain several effects in a Pipeline to combine them.
    y : array-like of shape (n_clusters,), default=None
        True log10 M200c; adds residual statistics per effect.
    n_draws : int, default=3
        Random realisations of each effect.
    random_state : int, RandomState instance or None, default=None
        Seed of the draws.

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        ``effects`` (names), ``shift`` (n_effects, n_draws, n_clusters):
        prediction with the effect minus without [dex]; ``deviation``
        (n_effects, n_clusters): log10 of the draw-averaged mass ratio (Ho
        eq. 14); ``prediction`` (n_effects, n_draws, n_clusters);
        ``prediction_full`` (n_clusters,); ``y`` (or None); ``n_draws``.
        Summarise with :func:`effect_robustness_summary`.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.pipeline import make_pipeline
    >>> from skcluster import CylinderCut, MSigma
    >>> from skcluster.metrics import effect_robustness, effect_robustness_summary
    >>> from skcluster.observe import VelocityErrors
    >>> from skcluster.testing import make_toy_clusters
    >>> X, y, _ = make_toy_clusters(60, random_state=0)
    >>> model = make_pipeline(CylinderCut(min_galaxies=None), MSigma()).fit(X, y)
    >>> res = effect_robustness(model, X, {"dv=300 km/s": VelocityErrors(300.0)}, y=y, random_state=0)
    >>> summary = effect_robustness_summary(res)
    >>> bool(summary["dv=300 km/s"]["median"] > 0)   # errors inflate sigma_v, hence the mass
    True
    """
    check_fitted_predictor(estimator)
    X = check_clusters(X)
    if not isinstance(effects, dict) or not effects:
        raise TypeError("effects must be a non-empty dict mapping a name to a transformer or callable, e.g. "
                        "{'velocity errors': VelocityErrors(100.0)}.")
    if not isinstance(n_draws, numbers.Integral) or n_draws < 1:
        raise ValueError(f"n_draws must be a positive integer; got {n_draws!r}.")
    n = len(X)
    if y is not None:
        y = check_log_mass(y, n)
    rng = check_random_state(random_state)
    full = np.asarray(estimator.predict(X), dtype=float).reshape(n)
    names = list(effects)
    pred = np.empty((len(names), n_draws, n))
    for i, name in enumerate(names):
        for k in range(n_draws):
            seed = int(rng.randint(0, 2**31 - 1))
            X_eff = _apply(effects[name], X, seed)
            if len(X_eff) != n:
                raise ValueError(f"Effect {name!r} returned {len(X_eff)} clusters for {n}; effects must keep "
                                 "every cluster (possibly with fewer galaxies).")
            pred[i, k] = np.asarray(estimator.predict(list(X_eff)), dtype=float).reshape(n)
    shift = pred - full
    deviation = (logsumexp(pred * np.log(10.0), axis=1) - np.log(n_draws)) / np.log(10.0) - full
    return Bunch(effects=names, shift=shift, deviation=deviation, prediction=pred, prediction_full=full,
                 y=y, n_draws=int(n_draws))


def effect_robustness_summary(result):
    """Table-4-style summary of :func:`~skcluster.metrics.effect_robustness`, one entry per effect.

    Parameters
    ----------
    result : Bunch
        Output of :func:`effect_robustness`.

    Returns
    -------
    summary : dict of str to dict
        Per effect: ``median``, ``p16``, ``p84``, ``width`` (p84 - p16) of
        the deviation eps_effect [dex] over clusters, ``mean_shift`` (mean of
        all draws' prediction shifts [dex]) and ``n``; with true masses also
        ``bias`` and ``scatter`` (median and standard deviation of the
        residuals with the effect, all draws pooled) and ``delta_bias``,
        ``delta_scatter`` (their change from the complete data). The entry
        ``"none"`` holds the complete data's residual statistics.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.utils import Bunch
    >>> from skcluster.metrics import effect_robustness_summary
    >>> res = Bunch(effects=["a"], shift=np.full((1, 1, 4), -0.02), deviation=np.full((1, 4), -0.02), y=None)
    >>> effect_robustness_summary(res)["a"]["median"]
    -0.02
    """
    out = {}
    y = result.get("y")
    if y is not None:
        base = residual_summary(y, result["prediction_full"])
        out["none"] = {"bias": base["median"], "scatter": base["std"], "n": base["n"]}
    for i, name in enumerate(result["effects"]):
        entry = percentile_summary(np.asarray(result["deviation"][i], dtype=float))
        entry["mean_shift"] = float(np.mean(result["shift"][i]))
        if y is not None:
            pred = np.asarray(result["prediction"][i], dtype=float)
            res = residual_summary(np.tile(y, len(pred)), pred.ravel())
            entry.update(bias=res["median"], scatter=res["std"], delta_bias=res["median"] - out["none"]["bias"],
                         delta_scatter=res["std"] - out["none"]["scatter"])
        out[name] = entry
    return out
