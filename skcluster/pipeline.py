"""A Pipeline that exposes the probabilistic API of its last step.

scikit-learn's :class:`sklearn.pipeline.Pipeline` forwards ``predict`` (and
keyword arguments such as ``return_std``) to its last step, but not
``predict_quantiles``, ``predict_interval``, ``sample``, ``log_prob``,
``predict_pdf`` or ``predict_cdf``. :class:`Pipeline` here adds them: each transforms ``X``
through every step but the last, then calls the last step's method. A method
exists on the pipeline only if the last step has it (``hasattr`` is honest).
"""

from sklearn.pipeline import Pipeline as _SkPipeline
from sklearn.pipeline import make_pipeline as _sk_make_pipeline
from sklearn.utils.metaestimators import available_if

__all__ = ["Pipeline", "make_pipeline", "PROBABILISTIC_METHODS"]

#: Methods of :class:`~skcluster.estimators.PosteriorMixin`
#: that the pipeline forwards to its last step.
PROBABILISTIC_METHODS = (
    "predict_quantiles", "predict_interval", "sample", "log_prob", "predict_pdf", "predict_cdf",
)


def _final_has(name):
    def check(self):
        return hasattr(self._final_estimator, name)

    return check


class Pipeline(_SkPipeline):
    """A scikit-learn Pipeline that also forwards the probabilistic API.

    Same parameters and behaviour as :class:`sklearn.pipeline.Pipeline`; in
    addition, when the last step has ``predict_quantiles``,
    ``predict_interval``, ``sample``, ``log_prob``, ``predict_pdf`` or
    ``predict_cdf`` (see
    :class:`~skcluster.estimators.PosteriorMixin`), so does the
    pipeline, with the same arguments and return shapes. ``predict(X,
    return_std=True)`` already works through scikit-learn's Pipeline.

    Parameters
    ----------
    steps : list of (str, estimator) tuples
        As in :class:`sklearn.pipeline.Pipeline`.
    transform_input : list of str, default=None
        As in :class:`sklearn.pipeline.Pipeline`.
    memory : str or object with the joblib.Memory interface, default=None
        As in :class:`sklearn.pipeline.Pipeline`.
    verbose : bool, default=False
        As in :class:`sklearn.pipeline.Pipeline`.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> from skcluster import SBICalibrator
    >>> from skcluster.pipeline import make_pipeline
    >>> from skcluster.testing import make_toy_clusters
    >>> X, y, groups = make_toy_clusters(90, random_state=0)
    >>> log_sigma = FunctionTransformer(
    ...     lambda X: np.array([[np.log10(np.std(c[:, 2], ddof=1))] for c in X]))
    >>> point = make_pipeline(log_sigma, LinearRegression())
    >>> pipe = make_pipeline("passthrough", SBICalibrator(point, cv=3))
    >>> pipe = pipe.fit(X, y, sbicalibrator__groups=groups)
    >>> pipe.predict_interval(X[:2], 0.68).shape
    (2, 2)
    """

    def _transform_all_but_last(self, X):
        Xt = X
        for _, _, transformer in self._iter(with_final=False):
            Xt = transformer.transform(Xt)
        return Xt

    @available_if(_final_has("predict_quantiles"))
    def predict_quantiles(self, X, quantiles):
        """Transform X, then call ``predict_quantiles`` of the last step."""
        return self._final_estimator.predict_quantiles(self._transform_all_but_last(X), quantiles)

    @available_if(_final_has("predict_interval"))
    def predict_interval(self, X, confidence_level=0.68):
        """Transform X, then call ``predict_interval`` of the last step."""
        return self._final_estimator.predict_interval(
            self._transform_all_but_last(X), confidence_level
        )

    @available_if(_final_has("sample"))
    def sample(self, X, n_samples=1, random_state=None):
        """Transform X, then call ``sample`` of the last step."""
        return self._final_estimator.sample(
            self._transform_all_but_last(X), n_samples=n_samples, random_state=random_state
        )

    @available_if(_final_has("log_prob"))
    def log_prob(self, X, y):
        """Transform X, then call ``log_prob`` of the last step."""
        return self._final_estimator.log_prob(self._transform_all_but_last(X), y)

    @available_if(_final_has("predict_pdf"))
    def predict_pdf(self, X, y_grid):
        """Transform X, then call ``predict_pdf`` of the last step."""
        return self._final_estimator.predict_pdf(self._transform_all_but_last(X), y_grid)

    @available_if(_final_has("predict_cdf"))
    def predict_cdf(self, X, y):
        """Transform X, then call ``predict_cdf`` of the last step."""
        return self._final_estimator.predict_cdf(self._transform_all_but_last(X), y)


def make_pipeline(*steps, memory=None, transform_input=None, verbose=False):
    """Build a :class:`~skcluster.pipeline.Pipeline` with step names generated from the classes.

    Same as :func:`sklearn.pipeline.make_pipeline`, returning the skcluster
    :class:`Pipeline` that also forwards the probabilistic API.

    Parameters
    ----------
    *steps : list of estimators
        Transformers followed by a final estimator.
    memory : str or object with the joblib.Memory interface, default=None
        Caching of fitted transformers.
    transform_input : list of str, default=None
        Metadata to transform through the steps (requires metadata routing).
    verbose : bool, default=False
        Print the time taken by each step.

    Returns
    -------
    Pipeline
        The skcluster :class:`Pipeline` of the steps.

    Examples
    --------
    >>> from sklearn.linear_model import LinearRegression
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skcluster.pipeline import make_pipeline
    >>> make_pipeline(StandardScaler(), LinearRegression()).steps[1][0]
    'linearregression'
    """
    sk = _sk_make_pipeline(*steps, memory=memory, transform_input=transform_input, verbose=verbose)
    return Pipeline(sk.steps, memory=memory, transform_input=transform_input, verbose=verbose)
