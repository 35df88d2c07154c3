"""Class probabilities from a network's output, whatever its output layer and however large its
inputs.

A softmax output is already a distribution; a single unit ``p`` means ``[1 − p, p]``; other outputs
(the seed's sigmoid units trained with the squared error, say) are clipped to be non-negative and
scaled to sum to 1. Outputs that overflowed (NaN or infinite, for inputs far too large for the
weights) still give valid rows: NaN counts as no evidence, infinity takes all the mass.
"""

from __future__ import annotations

import warnings

import numpy as np

from .activations import Activation, Sigmoid, exp_floor

__all__ = ["class_probabilities", "warn_if_overflowed"]

_SIGMOID = Sigmoid()


def _normalise_rows(scores: np.ndarray) -> np.ndarray:
    """Clip finite scores to be non-negative and scale each row to sum to 1 (all-zero → uniform)."""
    scores = np.clip(scores, 0.0, None)
    peak = scores.max(axis=1, keepdims=True)  # dividing by it first keeps the sum finite
    empty = peak[:, 0] == 0
    scores[empty] = 1.0
    peak[empty] = 1.0
    scores /= peak
    return scores / scores.sum(axis=1, keepdims=True)


def warn_if_overflowed(output: np.ndarray) -> np.ndarray:
    if not np.isfinite(output).all():
        rows = int((~np.isfinite(output)).any(axis=1).sum())
        warnings.warn(
            f"the network's output overflowed (is infinite or NaN) for {rows} sample(s): their "
            "inputs are too large for its weights",
            RuntimeWarning,
            stacklevel=3,
        )
    return output


def _robust_probabilities(raw: np.ndarray, activation: str) -> np.ndarray:
    """Class probabilities from outputs (or logits) that contain NaN or infinity."""
    raw = raw.copy()
    nan = np.isnan(raw)
    if raw.shape[1] == 1:
        if activation == "sigmoid":
            raw = np.where(np.isposinf(raw), 1.0, np.where(np.isneginf(raw), 0.0, raw))
        p = np.clip(np.where(nan, 0.5, raw[:, :]), 0.0, 1.0)[:, 0]
        if activation == "sigmoid":
            finite = np.isfinite(raw[:, 0]) & ~nan[:, 0]
            p[finite] = _SIGMOID.forward(raw[finite, 0])
        return np.column_stack([1.0 - p, p])
    if activation == "softmax":
        raw[nan] = -np.inf
        peak = raw.max(axis=1, keepdims=True)
        finite_rows = np.isfinite(peak[:, 0])
        shifted = raw[finite_rows] - peak[finite_rows]
        scores = np.zeros_like(raw)
        scores[finite_rows] = np.exp(np.maximum(shifted, exp_floor(raw.dtype)))
        scores[~finite_rows] = np.isposinf(raw[~finite_rows])
        return _normalise_rows(scores)
    if activation == "sigmoid":
        raw = np.where(nan, 0.0, _SIGMOID.forward(np.where(nan, 0.0, raw)))
    else:
        raw[nan] = 0.0
    infinite_rows = np.isposinf(raw).any(axis=1)
    raw[infinite_rows] = np.isposinf(raw[infinite_rows])
    return _normalise_rows(raw)


def class_probabilities(raw: np.ndarray, activation: Activation) -> np.ndarray:
    """Rows of class probabilities from ``raw``: the output layer's logits when ``activation``
    is softmax or sigmoid (which are applied here), its output otherwise."""
    name = activation.name
    if not np.isfinite(raw).all():
        return _robust_probabilities(raw, name)
    if name == "softmax":
        return activation.forward(raw, out=raw)
    if name == "sigmoid":
        activation.forward(raw, out=raw)
    if raw.shape[1] == 1:
        p = np.clip(raw[:, 0], 0.0, 1.0)
        return np.column_stack([1.0 - p, p])
    return _normalise_rows(raw)
