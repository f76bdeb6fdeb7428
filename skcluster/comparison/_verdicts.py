"""The verdict of an acceptance check read against the noise of its estimate."""

import math

__all__ = ["VERDICT_RULE", "check_verdict"]

#: One-line statement of :func:`check_verdict`'s rule, printed with the checks.
VERDICT_RULE = ("PASS: the estimate is within the tolerance and its standard error is no larger than the "
                "tolerance; FAIL: the miss beyond the tolerance exceeds 2 standard errors; INCONCLUSIVE "
                "otherwise (the sample is too small to test the tolerance)")


def check_verdict(estimate, nominal, tolerance, standard_error=None, *, n_sigma=2.0):
    """PASS, FAIL or INCONCLUSIVE for the check ``|estimate - nominal| <= tolerance``.

    With ``miss = |estimate - nominal|`` and ``s`` the standard error of the
    estimate:

    - ``"FAIL"`` if ``miss - tolerance > n_sigma * s``: the tolerance band
      lies more than ``n_sigma`` standard errors from the estimate, so the
      data exclude meeting the tolerance (at about 98% one-sided
      confidence for ``n_sigma=2`` and a normal estimate).
    - ``"PASS"`` if ``miss <= tolerance`` and ``s <= tolerance``: the
      estimate lies within the tolerance, and it is precise enough for that
      to mean something (its one-sigma range is no wider than the band's
      half-width).
    - ``"INCONCLUSIVE"`` otherwise: the estimate misses by less than its
      noise can tell from the band, or lies inside the band with an error
      larger than the band; either way the sample is too small to test the
      tolerance, and a larger one decides.

    The rule never calls a check failed on a miss its own noise explains,
    and never calls it passed on an estimate so noisy that any value near
    the band would have passed. Without a standard error (``None``, NaN or
    0) the estimate is taken as exact and the verdict is PASS or FAIL.

    Parameters
    ----------
    estimate : float
        The measured value (e.g. a coverage fraction).
    nominal : float
        The value the check asks for (e.g. the credibility level 0.68).
    tolerance : float
        Largest accepted ``|estimate - nominal|``, >= 0.
    standard_error : float, default=None
        Standard error of ``estimate`` (e.g. from
        :func:`skcluster.metrics.coverage_standard_error`).
    n_sigma : float, default=2.0
        How many standard errors a miss beyond the tolerance must exceed to
        be a FAIL.

    Returns
    -------
    verdict : {"PASS", "FAIL", "INCONCLUSIVE"}

    Examples
    --------
    >>> from skcluster.comparison import check_verdict
    >>> check_verdict(0.70, 0.68, 0.03, 0.015)
    'PASS'
    >>> check_verdict(0.642, 0.68, 0.03, 0.047)  # misses by 0.008 beyond the band; noise 0.047
    'INCONCLUSIVE'
    >>> check_verdict(0.55, 0.68, 0.03, 0.02)  # 0.10 beyond the band = 5 standard errors
    'FAIL'
    >>> check_verdict(0.70, 0.68, 0.03)  # no error: the plain comparison
    'PASS'
    """
    estimate, nominal, tolerance = float(estimate), float(nominal), float(tolerance)
    if not (math.isfinite(estimate) and math.isfinite(nominal)):
        raise ValueError(f"estimate and nominal must be finite numbers; got {estimate} and {nominal}.")
    if not (math.isfinite(tolerance) and tolerance >= 0):
        raise ValueError(f"tolerance must be a finite number >= 0; got {tolerance}.")
    se = 0.0 if standard_error is None else float(standard_error)
    if math.isnan(se):
        se = 0.0
    if se < 0 or math.isinf(se):
        raise ValueError(f"standard_error must be a finite number >= 0 or None; got {standard_error}.")
    if not n_sigma > 0:
        raise ValueError(f"n_sigma must be > 0; got {n_sigma}.")
    miss = abs(estimate - nominal) - 1e-12  # a miss equal to the tolerance up to rounding is within it
    if miss - tolerance > n_sigma * se:
        return "FAIL"
    if miss <= tolerance and se <= tolerance:
        return "PASS"
    return "INCONCLUSIVE"
