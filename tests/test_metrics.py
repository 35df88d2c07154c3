"""Accuracy and R², defined once (glassnet.metrics), as scikit-learn defines them."""

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, r2_score

from glassnet import metrics


def test_accuracy_matches_scikit_learn():
    rng = np.random.default_rng(0)
    truth, predicted, weights = (
        rng.integers(0, 3, 50),
        rng.integers(0, 3, 50),
        rng.uniform(0, 2, 50),
    )
    assert metrics.accuracy(truth, predicted) == pytest.approx(accuracy_score(truth, predicted))
    assert metrics.accuracy(truth, predicted, weights) == pytest.approx(
        accuracy_score(truth, predicted, sample_weight=weights)
    )


@pytest.mark.parametrize("shape", [(40,), (40, 1)])
def test_r2_matches_scikit_learn(shape):
    rng = np.random.default_rng(1)
    truth = rng.normal(size=shape)
    predicted = truth + rng.normal(scale=0.3, size=shape)
    assert metrics.r2_score(truth, predicted) == pytest.approx(r2_score(truth, predicted))


def test_r2_of_constant_targets_is_one_for_an_exact_prediction_else_zero():
    # the one defined answer (scikit-learn's): never NaN, never a division by zero
    truth = np.full(5, 3.0)
    assert metrics.r2_score(truth, truth.copy()) == 1.0 == r2_score(truth, truth.copy())
    assert metrics.r2_score(truth, truth + 0.1) == 0.0 == r2_score(truth, truth + 0.1)


def test_r2_keeps_float32():
    truth = np.array([[1.0], [2.0], [4.0]], np.float32)
    assert isinstance(metrics.r2_score(truth, truth * np.float32(0.9)), float)
