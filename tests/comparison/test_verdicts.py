"""The PASS / FAIL / INCONCLUSIVE rule of the main job's acceptance checks."""

import pytest

from skcluster.comparison import check_verdict
from skcluster.comparison._benchmark import _checks

TOL = 0.03


@pytest.mark.parametrize(
    "estimate, se, expected",
    [
        (0.68, 0.01, "PASS"),  # on target, precise
        (0.70, 0.015, "PASS"),  # inside the band, error below the tolerance
        (0.71, 0.03, "PASS"),  # at the band's edge, error equal to the tolerance
        (0.68, 0.05, "INCONCLUSIVE"),  # on target but noisier than the band is wide
        (0.642, 0.047, "INCONCLUSIVE"),  # the quick run's miss: 0.008 beyond the band, 0.2 standard errors
        (0.899 + 0.68 - 0.95, 0.051, "INCONCLUSIVE"),  # the quick run's 95% miss, moved to the 68% level
        (0.60, 0.02, "FAIL"),  # 0.05 beyond the band = 2.5 standard errors
        (0.60, 0.03, "INCONCLUSIVE"),  # the same miss, 1.7 standard errors
        (0.40, 0.10, "FAIL"),  # noisy, but far: 0.25 beyond the band = 2.5 standard errors
        (0.75, 0.01, "FAIL"),  # misses are two-sided
    ],
)
def test_verdict_from_estimate_error_and_tolerance(estimate, se, expected):
    assert check_verdict(estimate, 0.68, TOL, se) == expected


def test_fail_threshold_is_n_sigma_standard_errors_beyond_the_band():
    # miss beyond the band 0.04, standard error 0.02: exactly 2 sigma is not yet a FAIL
    assert check_verdict(0.61, 0.68, TOL, 0.0200001) == "INCONCLUSIVE"
    assert check_verdict(0.61, 0.68, TOL, 0.0199999) == "FAIL"
    assert check_verdict(0.61, 0.68, TOL, 0.03, n_sigma=1.0) == "FAIL"


@pytest.mark.parametrize("se", [None, 0.0, float("nan")])
def test_without_an_error_the_verdict_is_pass_or_fail(se):
    assert check_verdict(0.70, 0.68, TOL, se) == "PASS"
    assert check_verdict(0.71, 0.68, TOL, se) == "PASS"  # 0.71 - 0.68 > 0.03 in floating point
    assert check_verdict(0.72, 0.68, TOL, se) == "FAIL"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(estimate=float("nan"), nominal=0.68, tolerance=TOL), "finite"),
        (dict(estimate=0.7, nominal=0.68, tolerance=-0.1), "tolerance"),
        (dict(estimate=0.7, nominal=0.68, tolerance=TOL, standard_error=-1.0), "standard_error"),
        (dict(estimate=0.7, nominal=0.68, tolerance=TOL, n_sigma=0), "n_sigma"),
    ],
)
def test_bad_arguments_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        check_verdict(**kwargs)


def test_report_checks_carry_verdicts():
    def entry(label, std, cov=None, se=None):
        return {"label": label, "error": None, "summary": {"std": std},
                "coverage_calibration_prior": cov, "coverage_calibration_prior_se": se}

    stats = {
        "msigma": entry("M-sigma", 0.5),
        "cnn_2d": entry("CNN 2D", 0.2),
        "flow": entry("flow", 0.25),
        # the quick run's numbers: 0.642 +- 0.047 printed FAILED before
        "sbi": entry("SBI", 0.3, cov={"0.68": 0.642, "0.95": 0.958, "0.50": 0.1},
                     se={"0.68": 0.047, "0.95": 0.011, "0.50": 0.01}),
    }
    checks = _checks(stats)
    # CNN2D 0.2 <= 0.6 x 0.5 PASS; flow 0.25 > CNN2D FAIL; SBI 68% INCONCLUSIVE; 95% PASS; 50% not checked
    assert [v for _, v in checks] == ["PASS", "FAIL", "INCONCLUSIVE", "PASS"]
    assert "0.642 +- 0.047" in checks[2][0]

