"""What the targets mean: the task, class labels and their encoding for the output layer.

One place for each rule: which task a network does when nobody said (:func:`infer_task`), which
task a column of data suggests (:func:`guess_task`), how class labels become the rows the loss
compares with the output (:func:`encode_targets`), how outputs become labels again
(:func:`classes_from_output`), and how arbitrary labels map to ``0 … n_classes − 1``
(:func:`encode_labels`).
"""

from __future__ import annotations

import numpy as np

from .._validation import as_numeric_array, check_finite
from .losses import Loss

__all__ = [
    "MAX_AUTO_CLASSES",
    "TASKS",
    "classes_from_output",
    "encode_labels",
    "encode_targets",
    "guess_task",
    "infer_task",
    "is_multilabel",
    "labels_from_output",
    "task_of_loss",
]

TASKS = ("classification", "regression")
#: integer targets with at most this many distinct values are taken as class labels
MAX_AUTO_CLASSES = 20


def task_of_loss(loss: Loss) -> str | None:
    """The task a loss implies: the cross-entropies classification, ``mae``, ``huber`` and
    ``poisson`` regression; None for ``mse``, which serves both."""
    if loss.for_classification is None:
        return None
    return "classification" if loss.for_classification else "regression"


def infer_task(loss: Loss, y: np.ndarray | None, n_outputs: int) -> str:
    """The task of a network that was not told: from its loss, else from ``y``.

    The cross-entropies mean classification, ``mae`` and ``huber`` regression; with ``mse``,
    1-D integer targets and two or more outputs mean classification (the seed's setting),
    anything else regression.
    """
    implied = task_of_loss(loss)
    if implied is not None:
        return implied
    if (
        y is not None
        and y.dtype.kind in "biu"
        and (y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1))
        and n_outputs >= 2
    ):
        return "classification"
    return "regression"


def guess_task(values: np.ndarray, column: str) -> tuple[str, str]:
    """``("classification" | "regression", reason)`` for a column of raw target values.

    Text, or integers with at most :data:`MAX_AUTO_CLASSES` distinct values, mean classes.
    """
    if values.dtype.kind in "USO":
        return "classification", f"the target '{column}' holds text labels"
    distinct = np.unique(values.astype(float))
    if np.all(distinct == np.round(distinct)) and len(distinct) <= MAX_AUTO_CLASSES:
        return "classification", (
            f"the target '{column}' holds {len(distinct)} distinct integers "
            f"(at most {MAX_AUTO_CLASSES} are taken as classes)"
        )
    return "regression", f"the target '{column}' holds real numbers"


def encode_labels(
    y: np.ndarray, classes: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(classes, indices)``: the sorted distinct labels and each sample's index among them.

    Given ``classes`` (sorted), labels are looked up in them instead; labels not among them
    raise a ``ValueError`` that lists them.
    """
    if classes is None:
        classes, indices = np.unique(y, return_inverse=True)
        return classes, indices.reshape(-1)
    unknown = np.setdiff1d(np.unique(y), classes)
    if unknown.size:
        raise ValueError(
            f"y contains labels {unknown.tolist()} not among the classes {classes.tolist()}"
        )
    return classes, np.searchsorted(classes, y)


def classes_from_output(output: np.ndarray) -> np.ndarray:
    """Class indices from outputs (or one-hot rows): the argmax, or ``>= 0.5`` for one unit."""
    if output.shape[1] == 1:
        return (output[:, 0] >= 0.5).astype(np.intp)
    return output.argmax(axis=1)


def is_multilabel(loss: Loss, n_outputs: int) -> bool:
    """Whether a classifier's outputs are labels of their own: a binary cross-entropy over
    several sigmoid units (each unit one label, as in multilabel classification)."""
    return loss.name == "binary_cross_entropy" and n_outputs > 1


def labels_from_output(output: np.ndarray) -> np.ndarray:
    """The indicator matrix of multilabel outputs (or targets): 1 where a unit is above 0.5,
    as scikit-learn's ``LabelBinarizer.inverse_transform`` thresholds them."""
    return (output > 0.5).astype(np.int64)


def _encode_labels_for_outputs(
    labels: np.ndarray, n_outputs: int, dtype: np.dtype, name: str
) -> np.ndarray:
    if labels.dtype.kind == "f" and not np.array_equal(labels, np.round(labels)):
        bad = labels[labels != np.round(labels)][0].item()
        raise ValueError(f"{name} must hold integer class labels for classification, got {bad!r}")
    n_classes = max(n_outputs, 2)
    low, high = labels.min(), labels.max()
    if low < 0 or high >= n_classes:
        bad = (low if low < 0 else high).item()
        raise ValueError(
            f"{name} contains the label {bad!r}, but the network's {n_outputs} output unit(s) "
            f"tell apart {n_classes} classes: labels must be integers in [0, {n_classes - 1}]"
        )
    indices = labels.astype(np.intp)
    if n_outputs == 1:
        return indices.astype(dtype).reshape(-1, 1)
    encoded = np.zeros((labels.shape[0], n_outputs), dtype)
    encoded[np.arange(labels.shape[0]), indices] = 1
    return encoded


def _check_target_rows(encoded: np.ndarray, loss: Loss, name: str) -> None:
    if loss.fused_activation == "softmax" and (
        (encoded < 0).any() or not np.allclose(encoded.sum(axis=1), 1.0, atol=1e-6)
    ):
        raise ValueError(
            f"{name} given as rows of class probabilities for {loss.name!r} must be "
            "non-negative and sum to 1 in every row"
        )
    if loss.fused_activation == "sigmoid" and ((encoded < 0).any() or (encoded > 1).any()):
        raise ValueError(f"{name} for {loss.name!r} must lie in [0, 1]")
    if loss.fused_activation == "exp" and (encoded < 0).any():
        bad = encoded[encoded < 0][0].item()
        raise ValueError(
            f"{name} for {loss.name!r} must be non-negative (counts or rates), got {bad!r}"
        )


def encode_targets(
    y: object,
    n_samples: int,
    task: str,
    n_outputs: int,
    loss: Loss,
    dtype: np.dtype,
    name: str = "y",
) -> np.ndarray:
    """Validate ``y`` and return the training targets, shape ``(n_samples, n_outputs)``.

    Class labels (integers in ``[0, n_classes)``) become one-hot rows, or a 0/1 column for a
    single output unit; regression targets of shape ``(n,)`` become a column.
    """
    target = as_numeric_array(y, name)
    if target.ndim == 0 or target.ndim > 2:
        raise ValueError(
            f"{name} must be 1D (n_samples,) or 2D (n_samples, n_outputs), got shape {target.shape}"
        )
    if target.shape[0] != n_samples:
        raise ValueError(
            f"Found input variables with inconsistent numbers of samples: x has {n_samples} "
            f"samples but {name} has {target.shape[0]}"
        )
    if target.size == 0:
        raise ValueError(f"{name} is empty (shape {target.shape})")
    if target.dtype.kind == "f":
        check_finite(target, name)
    if task == "classification" and (target.ndim == 1 or (target.shape[1] == 1 and n_outputs > 1)):
        return _encode_labels_for_outputs(target.reshape(-1), n_outputs, dtype, name)
    if target.ndim == 1:
        target = target.reshape(-1, 1)
    if target.shape[1] != n_outputs:
        raise ValueError(
            f"{name} has {target.shape[1]} column(s) (shape {target.shape}), but the network has "
            f"{n_outputs} output unit(s)"
        )
    encoded = np.array(target, dtype=dtype, order="C")
    check_finite(encoded, name)
    _check_target_rows(encoded, loss, name)
    return encoded
