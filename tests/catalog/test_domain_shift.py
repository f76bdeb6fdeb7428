"""The domain-shift score flags clusters observed unlike the training mock more often than matched ones."""

import numpy as np
import pytest
from catalog_sky_helpers import tiny_mock_catalog

from skcluster import CylinderCut, MSigma
from skcluster.catalog import DomainShiftReference, observation_summaries
from skcluster.pipeline import make_pipeline
from skcluster.survey import Survey

THRESHOLD = 0.05
# matched held-out clusters: flagged near the nominal rate (measured 0.088 on 204: the summaries' tails are a
# little heavier than the chi-square's)
MATCHED_MAX_RATE = 0.12
# a survey half as deep is flagged at least this many times as often (measured 0.231 vs 0.088: x2.6); one
# cluster of ~20 galaxies carries little evidence, so the per-cluster power is modest
MIN_RATE_RATIO = 2.0
# ... and its median richness percentile falls by at least this much (measured 38 -> 19)
MIN_RICHNESS_DROP = 10.0


@pytest.fixture(scope="module")
def tiny_mock():
    return tiny_mock_catalog()


@pytest.fixture(scope="module")
def setup(tiny_mock):
    tr, te = tiny_mock.train, tiny_mock.test
    model = make_pipeline(CylinderCut(min_galaxies=None), MSigma()).fit(list(tr.X), tr.y)
    # the reference is conditioned on the model's predicted masses, as the score is applied at predicted masses
    ref = DomainShiftReference(n_neighbours=60, threshold=THRESHOLD).fit(list(tr.X), model.predict(list(tr.X)))
    return model, ref, list(te.X)


def _score(model, ref, X):
    X = [c for c in X if len(c) >= 10]  # predict_catalog's richness cut
    p, pct = ref.score(X, model.predict(X))
    return float(np.mean(p[np.isfinite(p)] < THRESHOLD)), float(np.nanmedian(pct[:, 0]))


def test_shallower_survey_is_flagged_more_often(setup):
    model, ref, X = setup
    shallow = Survey("half as deep", (0.1, 0.13), completeness=0.5)
    matched, rich_matched = _score(model, ref, X)
    shifted, rich_shifted = _score(model, ref, shallow.degrade(X, 0.117, random_state=0))
    assert matched <= MATCHED_MAX_RATE
    assert shifted >= MIN_RATE_RATIO * matched
    assert rich_shifted <= rich_matched - MIN_RICHNESS_DROP


def test_summaries_and_errors():
    c = np.array([[0.1, 0.0, 100.0], [0.5, 0.0, -300.0], [1.0, 0.0, 500.0], [3.0, 0.0, 0.0]])
    s = observation_summaries([c, c[:2]])
    assert s[0, 0] == pytest.approx(np.log10(3)) and np.isnan(s[1]).all()
    with pytest.raises(ValueError, match="at least 10"):
        DomainShiftReference().fit([c] * 5, np.full(5, 14.0))
    with pytest.raises(ValueError, match="masses"):
        DomainShiftReference().fit([c] * 5, np.full(4, 14.0))
    with pytest.raises(ValueError, match="n_neighbours"):
        DomainShiftReference(n_neighbours=3).fit([c] * 20, np.full(20, 14.0))
