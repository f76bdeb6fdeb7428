"""Mass and richness dependence of residuals (Wojtak et al. 2018).

The model of Ho et al. (2019, §5.3, eq. 11-13) with the richness scaling of
Kodi Ramanah et al. (2020, eq. 8): residuals ``eps = log10(M_pred/M_true)``
[dex] of cluster ``i`` are drawn from

    (1 - w) G(eps; mu_i, sigma_i) + w G(eps; mu_i, sigma_c),

    mu_i = mu0 + (alpha0 - 1) log10(M_true,i / M0),
    sigma_i^2 = sigma_N^2 (N_i / N0)^-1 + sigma_0^2,

with ``alpha0`` the slope of the log M_pred - log M_true relation (1 when
unbiased), ``sigma_N`` the richness-dependent scatter of a cluster with
``N0 = 100`` members, ``sigma_0`` the richness-independent (intrinsic)
scatter and ``w`` the fraction of outliers, drawn from a broad Gaussian of
fixed width ``sigma_c``. Ho et al. used ``sigma_c = 1e10`` dex (an outlier
term of negligible density); the default here, 1 dex, lets the outlier
fraction absorb catastrophic failures.
"""

import numbers
import warnings

import numpy as np
from scipy import optimize
from sklearn.utils import Bunch, check_random_state
from threadpoolctl import threadpool_limits

from ..exceptions import SkclusterWarning
from ._residuals import residuals

__all__ = ["mass_richness_dependence", "richness_scatter", "WOJTAK_PARAMETERS"]

#: Parameter names, in the order of ``covariance`` and ``samples``.
WOJTAK_PARAMETERS = ("mu0", "alpha0", "sigma_N", "sigma_0", "outlier_fraction")

_LOG_2PI = np.log(2 * np.pi)
#: Outlier fractions below this are "at the boundary": fixed at their
#: maximum-likelihood value for the error estimate, error reported as NaN.
_W_BOUNDARY = 1e-4
_W_MAX = 0.5


def richness_scatter(n_members, sigma_N, sigma_0, *, richness_pivot=100.0):
    """Residual scatter for a given richness (Kodi Ramanah et al. 2020, eq. 8).

    Parameters
    ----------
    n_members : array-like
        Number of member galaxies ``N``.
    sigma_N : float
        Richness-dependent scatter at ``N = richness_pivot`` [dex].
    sigma_0 : float
        Richness-independent scatter [dex].
    richness_pivot : float, default=100.0
        Pivot richness ``N0``.

    Returns
    -------
    sigma : ndarray
        ``sqrt(sigma_N^2 (N / N0)^-1 + sigma_0^2)`` [dex].

    Examples
    --------
    >>> from skcluster.metrics import richness_scatter
    >>> float(richness_scatter(100, 0.03, 0.04))
    0.05
    """
    n = np.asarray(n_members, dtype=float)
    return np.sqrt(sigma_N**2 * richness_pivot / n + sigma_0**2)


def _neg_log_likelihood(theta, eps, m, inv_n, outlier_scale, *, gradient=False):
    """Negative log-likelihood (and its gradient in natural parameters)."""
    mu0, alpha0, s_n, s_0, w = theta
    mu = mu0 + (alpha0 - 1.0) * m
    var = s_n**2 * inv_n + s_0**2
    d = eps - mu
    main = -0.5 * d**2 / var - 0.5 * (np.log(var) + _LOG_2PI)
    if w <= 0:
        ll, resp_main, resp_out = main, 1.0, 0.0
    else:
        out = -0.5 * d**2 / outlier_scale**2 - np.log(outlier_scale) - 0.5 * _LOG_2PI
        a, b = np.log1p(-w) + main, np.log(w) + out
        ll = np.logaddexp(a, b)
        resp_main, resp_out = np.exp(a - ll), np.exp(b - ll)
    nll = -float(np.sum(ll))
    if not gradient:
        return nll
    dmu = resp_main * d / var + resp_out * d / outlier_scale**2
    dvar = resp_main * 0.5 * (d**2 / var**2 - 1.0 / var)
    dw = float(np.sum(resp_out / w - resp_main / (1 - w))) if w > 0 else 0.0
    grad = np.array([
        np.sum(dmu), np.sum(dmu * m), np.sum(dvar * 2 * s_n * inv_n), np.sum(dvar * 2 * s_0), dw
    ])
    return nll, -grad


def _numerical_hessian(f, x, steps):
    k = x.size
    h = np.empty((k, k))
    f0 = f(x)
    for i in range(k):
        ei = np.zeros(k)
        ei[i] = steps[i]
        h[i, i] = (f(x + ei) - 2 * f0 + f(x - ei)) / steps[i] ** 2
        for j in range(i):
            ej = np.zeros(k)
            ej[j] = steps[j]
            h[i, j] = h[j, i] = (
                f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)
            ) / (4 * steps[i] * steps[j])
    return h


def _inverse_hessian(nll, theta_hat, free):
    """Covariance from the inverse Hessian over the free parameters.

    A scatter term that sits at its boundary (sigma -> 0) leaves the Hessian
    indefinite there; such terms are then held fixed one at a time, smallest
    first (their errors become NaN). Returns (None, free) if nothing helps.
    """
    free = free.copy()
    steps = 1e-3 * np.maximum(np.abs(theta_hat), 1e-2)
    if free[4]:
        steps[4] = min(steps[4], 0.5 * theta_hat[4])
    for _ in range(3):

        def nll_free(p, mask=free.copy()):
            theta = theta_hat.copy()
            theta[mask] = p
            return nll(theta)

        hess = _numerical_hessian(nll_free, theta_hat[free], steps[free])
        if np.all(np.isfinite(hess)) and np.all(np.linalg.eigvalsh(hess) > 0):
            return np.linalg.inv(hess), free
        # fix the scatter term nearest its boundary, relative to the total scatter
        candidates = [i for i in (2, 3) if free[i]]
        if len(candidates) < 2:
            break
        free[min(candidates, key=lambda i: theta_hat[i])] = False
    return None, free


def _check_positive(value, name):
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not ok or not value > 0 or not np.isfinite(value):
        raise ValueError(f"{name} must be a positive finite number; got {value!r}.")
    return float(value)


def _maximize(nll, eps, m, fit_outliers):
    """Maximum likelihood in unconstrained coordinates; returns natural parameters."""
    slope = np.polyfit(m, eps, 1)[0] if np.ptp(m) > 0 else 0.0
    s = max(float(np.std(eps)), 1e-3)
    u0 = [float(np.median(eps)), 1.0 + slope, np.log(s / np.sqrt(2)), np.log(s / np.sqrt(2))]
    bounds = [(None, None), (None, None), (np.log(1e-5), np.log(10.0)), (np.log(1e-5), np.log(10.0))]
    if fit_outliers:
        u0.append(np.log(0.01 / 0.99))
        bounds.append((-20.0, 0.0))

    def to_theta(u):
        w = 1.0 / (1.0 + np.exp(-u[4])) if fit_outliers else 0.0
        return np.array([u[0], u[1], np.exp(u[2]), np.exp(u[3]), w])

    def fun(u):
        theta = to_theta(u)
        value, grad = nll(theta, gradient=True)
        # chain rule to the unconstrained coordinates
        jac = np.array([1.0, 1.0, theta[2], theta[3], theta[4] * (1 - theta[4])])
        return value, (grad * jac)[: len(u)]

    # L-BFGS-B's tiny BLAS calls are far slower multi-threaded on a busy machine
    with threadpool_limits(limits=1, user_api="blas"):
        res = optimize.minimize(fun, np.array(u0), jac=True, method="L-BFGS-B", bounds=bounds)
    return to_theta(res.x), bool(res.success)


def _run_emcee(nll, theta_hat, free, scale, n_walkers, n_steps, n_burn, rng):
    try:
        import emcee
    except ImportError:
        raise ImportError(
            "method='emcee' needs the emcee package: pip install emcee (or skcluster[stats]); "
            "method='mle' works without it."
        ) from None

    k = int(free.sum())
    n_walkers = max(n_walkers, 2 * k + 2)

    def log_prob(p):
        theta = theta_hat.copy()
        theta[free] = p
        if theta[2] < 0 or theta[3] < 0 or not (0 <= theta[4] < _W_MAX):
            return -np.inf
        return -nll(theta)

    p0 = theta_hat[free] + 0.1 * scale[free] * rng.standard_normal((n_walkers, k))
    p0[:, 2:4] = np.abs(p0[:, 2:4])
    if k == 5:
        p0[:, 4] = np.clip(np.abs(p0[:, 4]), 0, _W_MAX * 0.99)
    sampler = emcee.EnsembleSampler(n_walkers, k, log_prob)
    sampler.random_state = rng.get_state()
    sampler.run_mcmc(p0, n_steps, progress=False)
    return sampler.get_chain(discard=n_burn, flat=True)


def mass_richness_dependence(
    y_true,
    y_pred,
    n_members,
    *,
    log_pivot_mass=None,
    richness_pivot=100.0,
    outlier_scale=1.0,
    fit_outliers=True,
    method="mle",
    n_walkers=32,
    n_steps=2000,
    n_burn=500,
    random_state=None,
):
    """Fit the Wojtak et al. (2018) model of mass bias and richness scatter.

    See the module docstring for the model (Ho et al. 2019, eq. 11-13; Kodi
    Ramanah et al. 2020, eq. 8). The parameters are found by maximum
    likelihood; their 1-sigma errors come from the inverse Hessian of the
    negative log-likelihood, or, with ``method="emcee"``, from the 16th and
    84th percentiles of an emcee ensemble-sampler posterior (flat priors,
    ``sigma_N, sigma_0 >= 0``, ``0 <= w < 0.5``).

    Parameters
    ----------
    y_true : array-like of shape (n_clusters,)
        True log10 M200c [h^-1 Msun].
    y_pred : array-like of shape (n_clusters,)
        Predicted log10 M200c [h^-1 Msun].
    n_members : array-like of shape (n_clusters,)
        Richness ``N`` of each cluster (number of galaxies; Ho et al. used
        the true number of members), e.g.
        :func:`skcluster.validation.n_galaxies` of the clusters.
    log_pivot_mass : float, default=None
        Pivot ``log10 M0`` [h^-1 Msun]; default the median of ``y_true``
        (Ho et al. 2019 used 14.17).
    richness_pivot : float, default=100.0
        Pivot richness ``N0`` at which ``sigma_N`` is quoted.
    outlier_scale : float, default=1.0
        Width ``sigma_c`` of the outlier Gaussian [dex].
    fit_outliers : bool, default=True
        Fit the outlier fraction; if False it is fixed at 0.
    method : {"mle", "emcee"}, default="mle"
        Error estimate: inverse Hessian at the maximum, or MCMC.
    n_walkers, n_steps, n_burn : int, default=32, 2000, 500
        emcee settings (walkers, steps per walker, discarded steps).
    random_state : int, RandomState instance or None, default=None
        Seed of the emcee walkers' start and moves.

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        ``params`` and ``errors``: dicts over ``WOJTAK_PARAMETERS`` (best
        estimate and 1-sigma error; maximum likelihood, or the posterior
        median and half the 16th-84th percentile range for emcee; an error
        is NaN for a parameter at its boundary, e.g. an outlier fraction of
        0), ``intervals`` (16th, 84th percentiles, or value -/+ error),
        ``covariance`` (over ``param_names``, the free parameters),
        ``param_names``, ``log_likelihood`` (at the maximum),
        ``log_pivot_mass``, ``richness_pivot``, ``samples`` (emcee draws
        of shape (n_draws, len(param_names)) or None), ``converged`` and
        ``n``.

    Examples
    --------
    >>> import numpy as np
    >>> from skcluster.metrics import mass_richness_dependence
    >>> rng = np.random.default_rng(1)
    >>> n = rng.integers(10, 200, 3000)
    >>> y = rng.uniform(14, 15, 3000)
    >>> eps = rng.normal(0, np.sqrt(0.07**2 * 100 / n + 0.05**2))
    >>> fit = mass_richness_dependence(y, y + eps, n, fit_outliers=False)
    >>> round(fit.params["sigma_N"], 2), round(fit.params["sigma_0"], 2)
    (0.07, 0.05)
    """
    eps = residuals(y_true, y_pred)
    y = np.asarray(y_true, dtype=float)
    n_mem = np.asarray(n_members, dtype=float)
    if n_mem.shape != eps.shape:
        raise ValueError(
            f"n_members must have one richness per cluster, shape {eps.shape}; got {n_mem.shape}."
        )
    if not np.all(np.isfinite(n_mem)) or np.any(n_mem <= 0):
        raise ValueError("n_members must be positive numbers of galaxies; got zeros, negatives or NaN.")
    if eps.size < 6:
        raise ValueError(f"At least 6 clusters are needed to fit 5 parameters; got {eps.size}.")
    richness_pivot = _check_positive(richness_pivot, "richness_pivot")
    outlier_scale = _check_positive(outlier_scale, "outlier_scale")
    if method not in ("mle", "emcee"):
        raise ValueError(f"method must be 'mle' or 'emcee'; got {method!r}.")
    if method == "emcee" and not (0 <= n_burn < n_steps and n_walkers >= 1):
        raise ValueError(
            f"emcee needs 0 <= n_burn < n_steps and n_walkers >= 1; got n_burn={n_burn}, "
            f"n_steps={n_steps}, n_walkers={n_walkers}."
        )
    if log_pivot_mass is None:
        log_pivot_mass = float(np.median(y))
    elif not isinstance(log_pivot_mass, numbers.Real) or not 5 < log_pivot_mass < 20:
        raise ValueError(
            f"log_pivot_mass must be log10 M0 [h^-1 Msun] (e.g. 14.17); got {log_pivot_mass!r}."
        )
    if np.ptp(n_mem) == 0:
        warnings.warn(
            "All clusters have the same richness, so sigma_N and sigma_0 cannot be told apart; "
            "only their combination is constrained and their errors will be large.",
            SkclusterWarning,
            stacklevel=2,
        )
    m = y - float(log_pivot_mass)
    inv_n = richness_pivot / n_mem

    def nll(theta, gradient=False):
        return _neg_log_likelihood(theta, eps, m, inv_n, outlier_scale, gradient=gradient)

    theta_hat, converged = _maximize(nll, eps, m, fit_outliers)
    free = np.array([True, True, True, True, bool(fit_outliers) and theta_hat[4] > _W_BOUNDARY])

    cov, free = _inverse_hessian(nll, theta_hat, free)
    if cov is None:
        warnings.warn(
            "The Hessian of the likelihood is not positive definite at the maximum (degenerate "
            "parameters, e.g. all clusters with the same richness); errors are NaN. Use "
            "method='emcee' or fix fit_outliers=False.",
            SkclusterWarning,
            stacklevel=2,
        )
        cov = np.full((int(free.sum()),) * 2, np.nan)

    names = [p for p, f in zip(WOJTAK_PARAMETERS, free) if f]
    values = dict(zip(WOJTAK_PARAMETERS, map(float, theta_hat)))
    errors = dict.fromkeys(WOJTAK_PARAMETERS, np.nan)
    samples = None
    if method == "mle":
        errors.update(zip(names, map(float, np.sqrt(np.diag(cov)))))
        intervals = {p: (values[p] - errors[p], values[p] + errors[p]) for p in WOJTAK_PARAMETERS}
    else:
        rng = check_random_state(random_state)
        # every parameter is sampled (flat priors handle the boundaries); walkers start
        # around the maximum with the Hessian errors where known
        scale = np.full(5, 1e-3)
        if np.all(np.isfinite(cov)):
            scale[free] = np.sqrt(np.diag(cov))
        free = np.array([True, True, True, True, bool(fit_outliers)])
        names = [p for p, f in zip(WOJTAK_PARAMETERS, free) if f]
        samples = _run_emcee(nll, theta_hat, free, scale, n_walkers, n_steps, n_burn, rng)
        lo, med, hi = np.percentile(samples, [16, 50, 84], axis=0)
        intervals = {p: (values[p], values[p]) for p in WOJTAK_PARAMETERS}
        for i, p in enumerate(names):
            values[p] = float(med[i])
            errors[p] = float(0.5 * (hi[i] - lo[i]))
            intervals[p] = (float(lo[i]), float(hi[i]))
        cov = np.atleast_2d(np.cov(samples, rowvar=False))
    return Bunch(
        params=values,
        errors=errors,
        intervals=intervals,
        covariance=cov,
        param_names=names,
        log_likelihood=-nll(theta_hat),
        log_pivot_mass=float(log_pivot_mass),
        richness_pivot=richness_pivot,
        outlier_scale=outlier_scale,
        method=method,
        samples=samples,
        converged=converged,
        n=int(eps.size),
    )
