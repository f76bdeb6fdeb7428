"""One-dimensional conditional densities for :class:`~skcluster.FlowRegressor`.

A network maps the features of a cluster to a parameter vector ``theta``; a
density family turns ``theta`` into a normalised density of the standardised
target ``t = (log10 M - loc) / scale``. Each family provides

- ``keras_nll(t, theta)``: negative log-likelihood written with ``keras.ops``,
  the training loss (backend-agnostic);
- exact numpy evaluation for prediction: ``log_prob``, ``cdf``, ``quantile``,
  ``sample`` and ``moments``, all on arrays of parameters of shape
  ``(n, n_params)``.

The families hold only plain numbers, so they pickle and clone trivially.
:class:`ScaledPosterior` binds a family to the parameters of n clusters and
the target scaling: the :class:`~skcluster.estimators.PosteriorDistribution`
that :class:`~skcluster.estimators.PosteriorMixin` uses.

``AffineStack`` is the stack of affine normalising-flow blocks of Kodi Ramanah
et al. (2020, eq. 3-5): block ``k`` maps ``u_{k-1}`` to
``u_k = (u_{k-1} - mu_k) / sigma_k`` with ``mu_k`` and ``log sigma_k`` given by
the network, and ``u_K`` is standard normal. Because the block parameters
depend only on the features, the composition is a single Gaussian with mean
``mu_1 + sigma_1 mu_2 + sigma_1 sigma_2 mu_3 + ...`` and standard deviation
``prod_k sigma_k``; it cannot represent skewed or multimodal posteriors.

``GaussianMixture`` is a ``K``-component Gaussian mixture whose weights, means
and scales are all functions of the features: a flexible density that can be
skewed, heavy-tailed or multimodal.

``AffineSpline`` is an affine map followed by a monotone rational-quadratic
spline (Durkan et al. 2019), flexible and exactly invertible.
"""

import numpy as np
from scipy.special import logsumexp, ndtr, ndtri

__all__ = ["AffineStack", "AffineSpline", "GaussianMixture", "ScaledPosterior", "make_density"]

#: Bounds on every log-scale output [standardised units]: keeps exp() finite
#: and the likelihood bounded during training.
LOG_SCALE_BOUNDS = (-7.0, 5.0)
_HALF_LOG_2PI = 0.5 * np.log(2.0 * np.pi)
#: Bisection steps used to invert mixture CDFs (the bracket shrinks by 2^-k).
_BISECTION_STEPS = 80
#: Largest (rows x grid x components) temporary array of mixture evaluations.
_MAX_CHUNK_ELEMENTS = 2**22


def _normal_logpdf(u):
    return -0.5 * u * u - _HALF_LOG_2PI


class AffineStack:
    """Stack of ``n_blocks`` conditional affine flow blocks (one Gaussian overall).

    Parameters
    ----------
    n_blocks : int
        Number of affine blocks; each contributes ``(mu_k, log sigma_k)``.
    """

    name = "affine"

    def __init__(self, n_blocks=3):
        self.n_blocks = int(n_blocks)

    @property
    def n_params(self):
        """Length of the parameter vector: ``2 * n_blocks``."""
        return 2 * self.n_blocks

    # -- training loss ---------------------------------------------------
    def keras_nll(self, t, theta):
        """Per-sample negative log-likelihood with ``keras.ops``.

        ``t`` of shape (batch, 1) or (batch,), ``theta`` of shape (batch, n_params).
        """
        from keras import ops

        u = ops.reshape(t, (-1,))
        log_det = 0.0
        for k in range(self.n_blocks):
            mu = theta[:, 2 * k]
            log_s = ops.clip(theta[:, 2 * k + 1], *LOG_SCALE_BOUNDS)
            u = (u - mu) * ops.exp(-log_s)
            log_det = log_det + log_s
        return 0.5 * ops.square(u) + _HALF_LOG_2PI + log_det

    # -- exact evaluation -------------------------------------------------
    def gaussian(self, theta):
        """Mean and standard deviation of the equivalent Gaussian, each (n,)."""
        theta = np.asarray(theta, dtype=float)
        loc = np.zeros(len(theta))
        scale = np.ones(len(theta))
        # invert u_K -> u_0 = t: u_{k-1} = mu_k + sigma_k u_k
        for k in reversed(range(self.n_blocks)):
            mu = theta[:, 2 * k]
            s = np.exp(np.clip(theta[:, 2 * k + 1], *LOG_SCALE_BOUNDS))
            loc = mu + s * loc
            scale = s * scale
        return loc, scale

    def log_prob(self, t, theta):
        """Log density at ``t`` of shape (n, G) -> (n, G)."""
        loc, scale = self.gaussian(theta)
        u = (t - loc[:, None]) / scale[:, None]
        return _normal_logpdf(u) - np.log(scale)[:, None]

    def cdf(self, t, theta):
        """Cumulative distribution at ``t`` of shape (n, G) -> (n, G)."""
        loc, scale = self.gaussian(theta)
        return ndtr((t - loc[:, None]) / scale[:, None])

    def quantile(self, q, theta):
        """Quantiles ``q`` of shape (Q,) -> (n, Q)."""
        loc, scale = self.gaussian(theta)
        return loc[:, None] + scale[:, None] * ndtri(np.asarray(q, dtype=float))[None, :]

    def sample(self, theta, n_samples, rng):
        """Draws of shape (n_samples, n) using the RandomState ``rng``."""
        loc, scale = self.gaussian(theta)
        return loc[None, :] + scale[None, :] * rng.standard_normal((n_samples, len(loc)))

    def moments(self, theta):
        """Mean and standard deviation, each (n,)."""
        return self.gaussian(theta)


class GaussianMixture:
    """Conditional Gaussian mixture with ``n_components`` components.

    The parameter vector is ``[logits (K), means (K), log scales (K)]``.

    Parameters
    ----------
    n_components : int
        Number of mixture components ``K``.
    """

    name = "mixture"

    def __init__(self, n_components=5):
        self.n_components = int(n_components)

    @property
    def n_params(self):
        """Length of the parameter vector: ``3 * n_components``."""
        return 3 * self.n_components

    # -- training loss ---------------------------------------------------
    def keras_nll(self, t, theta):
        """Per-sample negative log-likelihood with ``keras.ops``."""
        from keras import ops

        K = self.n_components
        t = ops.reshape(t, (-1, 1))
        logits = theta[:, :K]
        mu = theta[:, K:2 * K]
        log_s = ops.clip(theta[:, 2 * K:], *LOG_SCALE_BOUNDS)
        log_w = logits - ops.logsumexp(logits, axis=1, keepdims=True)
        u = (t - mu) * ops.exp(-log_s)
        comp = log_w - 0.5 * ops.square(u) - _HALF_LOG_2PI - log_s
        return -ops.logsumexp(comp, axis=1)

    # -- exact evaluation -------------------------------------------------
    def components(self, theta):
        """Log weights, means and scales, each of shape (n, K)."""
        theta = np.asarray(theta, dtype=float)
        K = self.n_components
        logits = theta[:, :K]
        log_w = logits - logsumexp(logits, axis=1, keepdims=True)
        mu = theta[:, K:2 * K]
        scale = np.exp(np.clip(theta[:, 2 * K:], *LOG_SCALE_BOUNDS))
        return log_w, mu, scale

    def _chunked(self, func, t, theta):
        """Apply ``func(t_rows, log_w, mu, scale)`` over row chunks to bound memory."""
        log_w, mu, scale = self.components(theta)
        t = np.asarray(t, dtype=float)
        out = np.empty(t.shape)
        step = max(1, _MAX_CHUNK_ELEMENTS // max(1, t.shape[1] * self.n_components))
        for i in range(0, len(t), step):
            sl = slice(i, i + step)
            out[sl] = func(t[sl], log_w[sl], mu[sl], scale[sl])
        return out

    @staticmethod
    def _log_prob_rows(t, log_w, mu, scale):
        u = (t[:, :, None] - mu[:, None, :]) / scale[:, None, :]
        comp = log_w[:, None, :] + _normal_logpdf(u) - np.log(scale)[:, None, :]
        return logsumexp(comp, axis=2)

    @staticmethod
    def _cdf_rows(t, log_w, mu, scale):
        u = (t[:, :, None] - mu[:, None, :]) / scale[:, None, :]
        return np.sum(np.exp(log_w)[:, None, :] * ndtr(u), axis=2)

    def log_prob(self, t, theta):
        """Log density at ``t`` of shape (n, G) -> (n, G)."""
        return self._chunked(self._log_prob_rows, t, theta)

    def cdf(self, t, theta):
        """Cumulative distribution at ``t`` of shape (n, G) -> (n, G)."""
        return self._chunked(self._cdf_rows, t, theta)

    def quantile(self, q, theta):
        """Quantiles ``q`` of shape (Q,) -> (n, Q), by bisection of the CDF."""
        q = np.asarray(q, dtype=float)
        _, mu, scale = self.components(theta)
        n = len(mu)
        # every component's q-quantile brackets the mixture's q-quantile
        z = ndtri(np.clip(q, 1e-300, 1.0 - 1e-16))
        lo = np.min(mu[:, None, :] + scale[:, None, :] * z[None, :, None], axis=2)
        hi = np.max(mu[:, None, :] + scale[:, None, :] * z[None, :, None], axis=2)
        lo = np.broadcast_to(lo, (n, q.size)).copy()
        hi = np.broadcast_to(hi, (n, q.size)).copy()
        for _ in range(_BISECTION_STEPS):
            mid = 0.5 * (lo + hi)
            below = self.cdf(mid, theta) < q[None, :]
            lo = np.where(below, mid, lo)
            hi = np.where(below, hi, mid)
        return 0.5 * (lo + hi)

    def sample(self, theta, n_samples, rng):
        """Draws of shape (n_samples, n) using the RandomState ``rng``."""
        log_w, mu, scale = self.components(theta)
        cum = np.cumsum(np.exp(log_w), axis=1)
        cum[:, -1] = 1.0
        u = rng.uniform(size=(n_samples, len(mu)))
        k = np.sum(u[:, :, None] > cum[None, :, :], axis=2)
        cols = np.arange(len(mu))[None, :]
        return mu[cols, k] + scale[cols, k] * rng.standard_normal((n_samples, len(mu)))

    def moments(self, theta):
        """Mean and standard deviation, each (n,)."""
        log_w, mu, scale = self.components(theta)
        w = np.exp(log_w)
        mean = np.sum(w * mu, axis=1)
        var = np.sum(w * (scale ** 2 + (mu - mean[:, None]) ** 2), axis=1)
        return mean, np.sqrt(var)


class AffineSpline:
    """Affine map followed by a monotone rational-quadratic spline (Durkan et al. 2019).

    ``u = (t - loc) / scale`` and ``z = g(u)`` is standard normal, where ``g``
    is a monotone rational-quadratic spline with ``n_bins`` bins on
    ``[-bound, bound]`` (identity outside, slopes 1 at the ends). The
    parameter vector is ``[loc, log scale, widths (K), heights (K),
    log interior slopes (K - 1)]``; all zeros give a standard normal.

    Parameters
    ----------
    n_bins : int
        Number of spline bins ``K``.
    bound : float
        Half-width of the spline interval in units of ``scale``.
    """

    name = "spline"
    #: Smallest bin width/height (fraction of the interval) and slope.
    MIN_BIN = 1e-3
    MIN_SLOPE = 1e-3

    def __init__(self, n_bins=8, bound=5.0):
        self.n_bins = int(n_bins)
        self.bound = float(bound)

    @property
    def n_params(self):
        """Length of the parameter vector: ``3 * n_bins + 1``."""
        return 3 * self.n_bins + 1

    # -- spline pieces, written once for numpy (xp=np) and keras.ops --------
    def _knots(self, raw, xp, softmax):
        K = self.n_bins
        frac = self.MIN_BIN + (1.0 - self.MIN_BIN * K) * softmax(raw)
        cum = xp.cumsum(frac, axis=-1)
        zeros = cum[..., :1] * 0.0
        knots = 2.0 * self.bound * xp.concatenate([zeros, cum], axis=-1) - self.bound
        return knots, 2.0 * self.bound * frac

    def _slopes(self, raw, xp):
        inner = self.MIN_SLOPE + xp.exp(xp.clip(raw, -7.0, 7.0))
        ones = inner[..., :1] * 0.0 + 1.0
        return xp.concatenate([ones, inner, ones], axis=-1)

    def _pieces(self, theta, xp, softmax):
        K = self.n_bins
        loc = theta[..., 0]
        log_scale = xp.clip(theta[..., 1], *LOG_SCALE_BOUNDS)
        xk, w = self._knots(theta[..., 2:2 + K], xp, softmax)
        yk, h = self._knots(theta[..., 2 + K:2 + 2 * K], xp, softmax)
        d = self._slopes(theta[..., 2 + 2 * K:], xp)
        return loc, log_scale, xk, w, yk, h, d

    # -- numpy evaluation ----------------------------------------------------
    def _np_pieces(self, theta):
        def softmax(a):
            e = np.exp(a - a.max(axis=-1, keepdims=True))
            return e / e.sum(axis=-1, keepdims=True)

        return self._pieces(np.asarray(theta, dtype=float), np, softmax)

    def _forward(self, t, theta):
        """z = g((t - loc) / scale) and log dz/dt, each (n, G)."""
        loc, log_scale, xk, w, yk, h, d = self._np_pieces(theta)
        u = (t - loc[:, None]) * np.exp(-log_scale)[:, None]
        inside = np.abs(u) < self.bound
        uc = np.clip(u, -self.bound, self.bound)
        k = np.clip(np.sum(uc[:, :, None] >= xk[:, None, 1:self.n_bins], axis=2), 0, self.n_bins - 1)

        def take(a):
            return np.take_along_axis(a, k, axis=1)

        wk, hk, x0, y0, d0, d1 = take(w), take(h), take(xk), take(yk), take(d), take(d[:, 1:])
        s = hk / wk
        xi = np.clip((uc - x0) / wk, 0.0, 1.0)
        om = xi * (1.0 - xi)
        den = s + (d1 + d0 - 2.0 * s) * om
        z = y0 + hk * (s * xi * xi + d0 * om) / den
        log_dz = (2.0 * np.log(s) + np.log(d1 * xi * xi + 2.0 * s * om + d0 * (1.0 - xi) ** 2)
                  - 2.0 * np.log(den))
        z = np.where(inside, z, u)
        log_dz = np.where(inside, log_dz, 0.0) - log_scale[:, None]
        return z, log_dz

    def _inverse(self, z, theta):
        """t with g((t - loc) / scale) = z, for z of shape (n, Q)."""
        loc, log_scale, xk, w, yk, h, d = self._np_pieces(theta)
        inside = np.abs(z) < self.bound
        zc = np.clip(z, -self.bound, self.bound)
        k = np.clip(np.sum(zc[:, :, None] >= yk[:, None, 1:self.n_bins], axis=2), 0, self.n_bins - 1)

        def take(a):
            return np.take_along_axis(a, k, axis=1)

        wk, hk, x0, y0, d0, d1 = take(w), take(h), take(xk), take(yk), take(d), take(d[:, 1:])
        s = hk / wk
        dz = zc - y0
        a = hk * (s - d0) + dz * (d1 + d0 - 2.0 * s)
        b = hk * d0 - dz * (d1 + d0 - 2.0 * s)
        c = -s * dz
        disc = np.sqrt(np.clip(b * b - 4.0 * a * c, 0.0, None))
        xi = np.clip(2.0 * c / (-b - disc), 0.0, 1.0)
        u = np.where(inside, x0 + xi * wk, z)
        return loc[:, None] + np.exp(log_scale)[:, None] * u

    def log_prob(self, t, theta):
        """Log density at ``t`` of shape (n, G) -> (n, G)."""
        z, log_dz = self._forward(np.asarray(t, dtype=float), theta)
        return _normal_logpdf(z) + log_dz

    def cdf(self, t, theta):
        """Cumulative distribution at ``t`` of shape (n, G) -> (n, G)."""
        return ndtr(self._forward(np.asarray(t, dtype=float), theta)[0])

    def quantile(self, q, theta):
        """Quantiles ``q`` of shape (Q,) -> (n, Q)."""
        z = ndtri(np.asarray(q, dtype=float))
        return self._inverse(np.broadcast_to(z, (len(theta), z.size)), theta)

    def sample(self, theta, n_samples, rng):
        """Draws of shape (n_samples, n) using the RandomState ``rng``."""
        z = rng.standard_normal((len(theta), n_samples))
        return self._inverse(z, theta).T

    def moments(self, theta):
        """Mean and standard deviation, each (n,), from 2000 equal-probability quantiles."""
        q = (np.arange(2000) + 0.5) / 2000
        t = self.quantile(q, theta)
        return t.mean(axis=1), t.std(axis=1)

    # -- training loss ---------------------------------------------------
    def keras_nll(self, t, theta):
        """Per-sample negative log-likelihood with ``keras.ops``."""
        from keras import ops

        loc, log_scale, xk, w, yk, h, d = self._pieces(theta, ops, lambda a: ops.softmax(a, axis=-1))
        u = (ops.reshape(t, (-1,)) - loc) * ops.exp(-log_scale)
        inside = ops.abs(u) < self.bound
        uc = ops.clip(u, -self.bound, self.bound)
        ge = ops.cast(ops.expand_dims(uc, 1) >= xk[:, 1:self.n_bins], "int32")
        k = ops.expand_dims(ops.clip(ops.sum(ge, axis=1), 0, self.n_bins - 1), 1)

        def take(a):
            return ops.take_along_axis(a, k, axis=1)[:, 0]

        wk, hk, x0, y0, d0, d1 = take(w), take(h), take(xk), take(yk), take(d), take(d[:, 1:])
        s = hk / wk
        xi = ops.clip((uc - x0) / wk, 0.0, 1.0)
        om = xi * (1.0 - xi)
        den = s + (d1 + d0 - 2.0 * s) * om
        z = y0 + hk * (s * xi * xi + d0 * om) / den
        log_dz = 2.0 * ops.log(s) + ops.log(d1 * xi * xi + 2.0 * s * om + d0 * (1.0 - xi) ** 2) \
            - 2.0 * ops.log(den)
        z = ops.where(inside, z, u)
        log_dz = ops.where(inside, log_dz, ops.zeros_like(log_dz))
        return 0.5 * ops.square(z) + _HALF_LOG_2PI - log_dz + log_scale


class ScaledPosterior:
    """Posteriors of log10 M200c = ``loc + scale * t``, ``t`` from a density family.

    A :class:`~skcluster.estimators.PosteriorDistribution` of n clusters with
    exact (analytic) densities, CDFs, quantiles and draws.

    Parameters
    ----------
    family : AffineStack, GaussianMixture or AffineSpline
        Density of the standardised target ``t``.
    theta : ndarray of shape (n, family.n_params)
        Parameters of each cluster's density.
    loc, scale : float
        Target standardisation: log10 M200c [h^-1 Msun] = ``loc + scale * t``.
    """

    def __init__(self, family, theta, loc, scale):
        self.family, self.theta, self.loc, self.scale = family, theta, loc, scale

    def __len__(self):
        return len(self.theta)

    def _standardise(self, y):
        return (np.asarray(y, dtype=float) - self.loc) / self.scale

    def log_prob(self, y):
        """Log density per dex at ``y`` of shape (n, G) -> (n, G)."""
        return self.family.log_prob(self._standardise(y), self.theta) - np.log(self.scale)

    def pdf(self, y):
        """Density per dex at ``y`` of shape (n, G) -> (n, G)."""
        return np.exp(self.family.log_prob(self._standardise(y), self.theta)) / self.scale

    def cdf(self, y):
        """Cumulative distribution at ``y`` of shape (n, G) -> (n, G)."""
        return self.family.cdf(self._standardise(y), self.theta)

    def quantile(self, q):
        """Quantiles at ``q`` of shape (Q,) -> (n, Q); 0 and 1 give -inf and +inf."""
        q = np.asarray(q, dtype=float)
        y = self.loc + self.scale * self.family.quantile(np.clip(q, 1e-300, 1.0), self.theta)
        y = np.where(q[None, :] <= 0, -np.inf, y)
        return np.where(q[None, :] >= 1, np.inf, y)

    def sample(self, n_samples, rng):
        """Draws of shape (n_samples, n) using the RandomState ``rng``."""
        return self.loc + self.scale * self.family.sample(self.theta, int(n_samples), rng)

    def std(self):
        """Standard deviation [dex], (n,)."""
        return self.scale * self.family.moments(self.theta)[1]


def make_density(density, *, n_blocks=3, n_components=5, n_bins=8):
    """Density family named ``density`` ('affine', 'mixture' or 'spline')."""
    if density == "affine":
        return AffineStack(n_blocks)
    if density == "mixture":
        return GaussianMixture(n_components)
    if density == "spline":
        return AffineSpline(n_bins)
    raise ValueError(
        f"density must be 'affine', 'mixture' or 'spline', got {density!r}; 'affine' is the "
        "paper's stack of affine blocks (one Gaussian), 'mixture' a flexible Gaussian mixture, "
        "'spline' an affine map and a monotone rational-quadratic spline."
    )
