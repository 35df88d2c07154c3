"""``glassnet predict`` and ``glassnet evaluate``: a saved model on the rows of a CSV file."""

from __future__ import annotations

import argparse
import csv
import io as text_io
import json
import sys
import warnings
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from .. import metrics
from ..datasets import load_csv
from ..files.atomic import atomic_write
from ..io import load
from ..model.targets import task_of_loss
from ..network import NeuralNetwork
from .common import CommandError, say
from .modelinfo import Label, ModelInfo, Scaling, label_text
from .outputs import check_output_file


@dataclass(frozen=True)
class _Inputs:
    """A loaded model and the matching columns of a CSV file."""

    model: Any
    x: np.ndarray
    y_raw: np.ndarray
    task: str
    classes: list[Label] | None
    #: undoes the target's standardisation on the network's outputs
    target_standardize: Scaling | None = None


def _model_inputs(model_path: str, data_path: str, target: str | None) -> _Inputs:
    """Load a model (its command-line metadata checked) and the CSV file's matching columns."""
    model = load(model_path)
    if isinstance(model, NeuralNetwork):
        return _network_inputs(model, model_path, data_path, target)
    features = list(model.feature_names_in_) if hasattr(model, "feature_names_in_") else None
    classifier = hasattr(model, "classes_")
    dataset = load_csv(
        data_path, target, features, require_target=target is not None, labels=classifier
    )
    if features is None and dataset.x.shape[1] != model.n_features_in_:
        raise CommandError(
            f"{data_path} has {dataset.x.shape[1]} feature columns; "
            f"the model takes {model.n_features_in_}"
        )
    if classifier:
        return _Inputs(model, dataset.x, dataset.y, "classification", model.classes_.tolist())
    return _Inputs(model, dataset.x, dataset.y, "regression", None)


def _network_inputs(
    network: NeuralNetwork, model_path: str, data_path: str, target: str | None
) -> _Inputs:
    info = ModelInfo.from_metadata(network.metadata, model_path, network)
    task = info.task if info is not None else network.task or task_of_loss(network.loss)
    if task is None:
        raise CommandError(
            "this model does not say whether it is a classifier; it was never trained"
        )
    dataset = load_csv(
        data_path,
        target,
        None if info is None else info.features,
        require_target=target is not None,
        labels=task == "classification",
    )
    x = dataset.x
    if info is None and x.shape[1] != network.n_inputs:
        raise CommandError(
            f"{data_path} has {x.shape[1]} feature columns; the model takes {network.n_inputs}"
        )
    if info is not None and info.standardize is not None:
        x = info.standardize.apply(x)
    if info is not None and info.classes is not None:
        classes: list[Label] | None = info.classes
    elif task == "classification":
        # a trained network has layers, so n_classes is an int here
        classes = list(range(cast(int, network.n_classes)))
    else:
        classes = None
    target_standardize = None if info is None else info.target_standardize
    return _Inputs(network, x, dataset.y, task, classes, target_standardize)


def _predict(inputs: _Inputs) -> tuple[np.ndarray, np.ndarray | None]:
    """``(predictions, class probabilities or None)`` of a network or an estimator."""
    with warnings.catch_warnings():
        # the columns were matched by name already; scikit-learn cannot see that in an array
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        return _predict_quietly(inputs)


def _multilabel(inputs: _Inputs) -> bool:
    """Whether the model is a multilabel classifier (its predictions are indicator rows)."""
    if isinstance(inputs.model, NeuralNetwork):
        return False
    return np.ndim(inputs.model.predict(inputs.x[:1])) == 2


def _predict_quietly(inputs: _Inputs) -> tuple[np.ndarray, np.ndarray | None]:
    if inputs.task == "classification":
        assert inputs.classes is not None  # a classifier's inputs come with its classes
        probabilities = inputs.model.predict_proba(inputs.x)
        if _multilabel(inputs):  # one 0/1 column per label
            return np.asarray(inputs.model.predict(inputs.x)), probabilities
        labels = np.array([label_text(c) for c in inputs.classes], dtype=object)
        return labels[probabilities.argmax(axis=1)], probabilities
    predictions = np.asarray(inputs.model.predict(inputs.x), dtype=float)
    if inputs.target_standardize is not None:
        shape = predictions.shape
        predictions = inputs.target_standardize.undo(predictions.reshape(len(predictions), -1))
        predictions = predictions.reshape(shape)
    return predictions, None


def run_predict(args: argparse.Namespace) -> int:
    to_screen = args.output in (None, "-")
    if not to_screen:
        check_output_file(args.output, "--output")
    inputs = _model_inputs(args.model, args.data, None)
    predictions, probabilities = _predict(inputs)
    buffer = text_io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    predictions = np.asarray(predictions)
    if predictions.ndim == 1:
        header = ["prediction"]
        rows = predictions[:, None].tolist()
    else:
        header = [f"prediction_{i}" for i in range(predictions.shape[1])]
        rows = predictions.tolist()
    if probabilities is not None:
        assert inputs.classes is not None  # probabilities come with classes
        header += [f"probability_{label_text(c)}" for c in inputs.classes]
        rows = [
            row + [f"{p:.6g}" for p in probs] for row, probs in zip(rows, probabilities.tolist())
        ]
    writer.writerow(header)
    writer.writerows(rows)
    if to_screen:
        sys.stdout.write(buffer.getvalue())
        sys.stdout.flush()  # here, so that a closed pipe is noticed while main can handle it
    else:
        atomic_write(args.output, buffer.getvalue().encode())
        say(f"wrote {len(rows)} predictions to {args.output}")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    inputs = _model_inputs(args.model, args.data, args.target)
    if inputs.task == "classification" and _multilabel(inputs):
        raise CommandError(
            f"{args.model} is a multilabel classifier: glassnet evaluate scores one target "
            "column; score it in Python (its score method gives the subset accuracy)"
        )
    predictions, probabilities = _predict(inputs)
    y_raw = inputs.y_raw
    result: dict[str, Any] = {"samples": int(inputs.x.shape[0])}
    if inputs.task == "classification":
        assert inputs.classes is not None and probabilities is not None  # a classifier's
        lookup = {label_text(c): i for i, c in enumerate(inputs.classes)}
        labels = [label_text(v) for v in y_raw.tolist()]
        unknown = sorted({label for label in labels if label not in lookup})
        if unknown:
            raise CommandError(
                f"column {args.target!r} holds labels the model does not know: "
                f"{', '.join(unknown[:5])} (it knows {', '.join(lookup)})"
            )
        indices = np.array([lookup[label] for label in labels])
        result["accuracy"] = float(np.mean(probabilities.argmax(axis=1) == indices))
        chosen = np.clip(probabilities[np.arange(len(indices)), indices], 1e-15, 1.0)
        result["log_loss"] = float(-np.mean(np.log(chosen)))
    else:
        if y_raw.dtype.kind not in "biuf":
            raise CommandError(
                f"column {args.target!r} holds text; this regression model needs numbers"
            )
        truth = y_raw.astype(float)
        predicted = np.asarray(predictions, dtype=float).reshape(truth.shape)
        with np.errstate(all="ignore"):
            result["mse"] = float(np.mean((predicted - truth) ** 2))
            result["mae"] = float(np.mean(np.abs(predicted - truth)))
        result["r2"] = metrics.r2_score(truth, predicted)
    print(json.dumps(result, indent=2), flush=True)
    return 0
