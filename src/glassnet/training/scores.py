"""The scores recorded after each epoch on the validation data."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import metrics
from ..model.targets import classes_from_output, is_multilabel, labels_from_output

if TYPE_CHECKING:
    from ..network import NeuralNetwork

__all__ = ["validation_logs"]


def validation_logs(
    network: NeuralNetwork, x_val: np.ndarray, t_val: np.ndarray, task: str
) -> dict[str, float]:
    """``val_loss`` and ``val_accuracy`` (subset accuracy for multilabel outputs) or ``val_r2``."""
    loss, output = network.loss_and_output(x_val, t_val)
    logs = {"val_loss": loss}
    if task == "classification" and is_multilabel(network.loss, output.shape[1]):
        # subset accuracy: a sample counts when every one of its labels is right
        matches = (labels_from_output(t_val) == labels_from_output(output)).all(axis=1)
        logs["val_accuracy"] = metrics.accuracy(matches, np.ones_like(matches))
    elif task == "classification":
        truth, predicted = classes_from_output(t_val), classes_from_output(output)
        logs["val_accuracy"] = metrics.accuracy(truth, predicted)
    else:
        logs["val_r2"] = metrics.r2_score(t_val, output)
    return logs
