"""Scores of predictions: accuracy and R², each defined once for every front end.

R² of constant targets is 1.0 for a perfect prediction and 0.0 otherwise (where the formula would
divide by zero), as in scikit-learn, so it is always a finite number. With several outputs it is
one score pooled over all of them (scikit-learn's ``r2_score`` averages the outputs' scores); for
one output the two agree.
"""

from __future__ import annotations

import numpy as np

__all__ = ["accuracy", "r2_score"]


def accuracy(
    y_true: np.ndarray, y_pred: np.ndarray, sample_weight: np.ndarray | None = None
) -> float:
    """The (weighted) fraction of samples whose prediction equals the truth, shape ``(n,)``."""
    return float(np.average(np.asarray(y_true) == np.asarray(y_pred), weights=sample_weight))


def r2_score(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """``1 − Σ(y − ŷ)² / Σ(y − ȳ)²`` over all samples and outputs (one pooled score).

    Parameters
    ----------
    y_true, y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)

    Returns
    -------
    float
        For constant ``y_true``: 1.0 if the prediction is exact, else 0.0.
    """
    truth, predicted = np.asarray(y_true), np.asarray(y_pred)
    if truth.dtype.kind != "f":  # floats keep their precision, so float32 scores stay float32's
        truth = truth.astype(float)
    predicted = predicted.reshape(truth.shape)
    spread = float(((truth - truth.mean(axis=0)) ** 2).sum())
    residual = float(((truth - predicted) ** 2).sum())
    if spread > 0:
        return 1.0 - residual / spread
    return float(residual == 0.0)
