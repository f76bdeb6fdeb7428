"""Abundance bias from non-Gaussian residuals (Ho et al. 2019, eq. 9-10)."""

import numpy as np
import pytest
from scipy import integrate

from skcluster.metrics import abundance_bias, edgeworth_abundance_bias, edgeworth_pdf

#: Ho et al. (2019) Table 2 cumulants (sigma [dex], skewness, excess kurtosis)
#: and the abundance uncertainty quoted in §5.2 for slope 2 (as fractions).
HO_TABLE_2 = {
    "CNN1D": (0.174, 0.419, 0.826, 0.050),
    "CNN2D": (0.132, 0.221, 1.600, 0.017),
    "M-sigma pure": (0.193, -0.262, 0.417, -0.020),
    "M-sigma contaminated": (0.316, 0.225, 0.647, 0.23),
    "SDM1D": (0.226, 0.646, 1.183, 0.178),
    "SDM2D": (0.159, 0.309, 1.459, 0.038),
}
#: The paper rounds to 0.1 % (and to 1 % for M-sigma contaminated).
PAPER_ROUNDING = 0.0065
#: Quadrature accuracy of the exact-integral check.
QUAD_RTOL = 1e-8


@pytest.mark.parametrize("model", sorted(HO_TABLE_2))
def test_reproduces_ho_2019_numbers(model):
    sigma, gamma, kappa, quoted = HO_TABLE_2[model]
    bias = edgeworth_abundance_bias(sigma, gamma, kappa, slope=2.0)
    assert bias == pytest.approx(quoted, abs=PAPER_ROUNDING)


@pytest.mark.parametrize("slope", [1.5, 2.0, 3.0])
@pytest.mark.parametrize("gamma, kappa", [(0.3, 1.0), (-0.5, 0.2), (0.0, 0.0)])
def test_matches_integral_over_edgeworth_density(slope, gamma, kappa):
    # n(M_pred) / n_0 = E[exp(alpha ln10 eps)] / E_gauss[...] with eps ~ Edgeworth density
    sigma = 0.15
    s = sigma * np.log(10)

    def integrand(x):
        return np.exp(slope * s * x) * edgeworth_pdf(x, gamma, kappa)

    num, _ = integrate.quad(integrand, -40, 40, epsabs=0, epsrel=1e-12, limit=200)
    expected = num / np.exp(0.5 * (slope * s) ** 2) - 1
    bias = edgeworth_abundance_bias(sigma, gamma, kappa, slope=slope)
    assert bias == pytest.approx(expected, rel=QUAD_RTOL, abs=1e-12)


def test_edgeworth_pdf_normalised_with_moments():
    x = np.linspace(-15, 15, 30001)
    pdf = edgeworth_pdf(x, 0.4, 0.9)
    dx = x[1] - x[0]
    assert np.sum(pdf) * dx == pytest.approx(1.0, abs=1e-9)
    assert np.sum(x * pdf) * dx == pytest.approx(0.0, abs=1e-9)
    assert np.sum(x**2 * pdf) * dx == pytest.approx(1.0, abs=1e-9)
    assert np.sum(x**3 * pdf) * dx == pytest.approx(0.4, abs=1e-9)
    assert np.sum(x**4 * pdf) * dx - 3 == pytest.approx(0.9, abs=1e-8)


def test_from_residuals_uses_summary_cumulants():
    rng = np.random.default_rng(0)
    y = rng.uniform(14, 15, 400)
    eps = rng.gamma(3.0, 0.05, 400)
    e = eps - eps.mean()
    m2 = np.mean(e**2)
    g = np.mean(e**3) / m2**1.5
    k = np.mean(e**4) / m2**2 - 3
    ref = g * (2 * np.sqrt(m2) * np.log(10)) ** 3 / 6 + k * (2 * np.sqrt(m2) * np.log(10)) ** 4 / 24
    assert abundance_bias(y, y + eps) == pytest.approx(ref, rel=1e-10)
    assert abundance_bias(y, y + eps) > 0  # right-skewed residuals boost counts


def test_gaussian_residuals_give_no_bias():
    assert edgeworth_abundance_bias(0.2, 0.0, 0.0) == 0.0


def test_bad_values():
    with pytest.raises(ValueError, match="sigma"):
        edgeworth_abundance_bias(0.0, 0.1, 0.1)
    with pytest.raises(TypeError, match="slope"):
        edgeworth_abundance_bias(0.1, 0.1, 0.1, slope="2")
    with pytest.raises(ValueError, match="at least 3"):
        abundance_bias([14.0, 14.5], [14.1, 14.4])
