"""``glassnet predict`` and ``glassnet evaluate``: a saved model on the rows of a CSV file."""

from __future__ import annotations

import argparse
import csv
import io as text_io
import json
import sys
from typing import Any, cast

import numpy as np

from .. import metrics
from ..datasets import load_csv
from ..files.container import atomic_write
from ..io import load
from ..model.targets import task_of_loss
from ..network import NeuralNetwork
from .common import CommandError, say, standardize


def _model_inputs(
    model_path: str, data_path: str, target: str | None
) -> tuple[Any, np.ndarray, np.ndarray, dict[str, Any]]:
    """Load a model and the matching columns of a CSV file → (model, x, y_raw, info)."""
    model = load(model_path)
    if isinstance(model, NeuralNetwork):
        info = model.metadata.get("cli") if isinstance(model.metadata.get("cli"), dict) else None
        features = info["features"] if info else None
        dataset = load_csv(data_path, target, features, require_target=target is not None)
        if info is None and dataset.x.shape[1] != model.n_inputs:
            raise CommandError(
                f"{data_path} has {dataset.x.shape[1]} feature columns; "
                f"the model takes {model.n_inputs}"
            )
        x = dataset.x
        if info and info.get("standardize"):
            x = standardize(x, info["standardize"])
        task = model.task or task_of_loss(model.loss)
        if task is None:
            raise CommandError(
                "this model does not say whether it is a classifier; it was never trained"
            )
        classes = (
            info["classes"]
            if info and info.get("classes") is not None
            # a trained network has layers, so n_classes is an int here
            else (list(range(cast(int, model.n_classes))) if task == "classification" else None)
        )
        return model, x, dataset.y, {"task": task, "classes": classes, "kind": "network"}
    features = list(model.feature_names_in_) if hasattr(model, "feature_names_in_") else None
    dataset = load_csv(data_path, target, features, require_target=target is not None)
    if features is None and dataset.x.shape[1] != model.n_features_in_:
        raise CommandError(
            f"{data_path} has {dataset.x.shape[1]} feature columns; "
            f"the model takes {model.n_features_in_}"
        )
    task = "classification" if hasattr(model, "classes_") else "regression"
    classes = model.classes_.tolist() if task == "classification" else None
    return model, dataset.x, dataset.y, {"task": task, "classes": classes, "kind": "estimator"}


def _predict(
    model: Any, x: np.ndarray, info: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray | None]:
    """``(predictions, class probabilities or None)`` of a network or an estimator."""
    if info["task"] == "classification":
        probabilities = model.predict_proba(x)
        return np.asarray(info["classes"], dtype=object)[
            probabilities.argmax(axis=1)
        ], probabilities
    return model.predict(x), None


def run_predict(args: argparse.Namespace) -> int:
    model, x, _, info = _model_inputs(args.model, args.data, None)
    predictions, probabilities = _predict(model, x, info)
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
        header += [f"probability_{c}" for c in info["classes"]]
        rows = [
            row + [f"{p:.6g}" for p in probs] for row, probs in zip(rows, probabilities.tolist())
        ]
    writer.writerow(header)
    writer.writerows(rows)
    if args.output is None:
        sys.stdout.write(buffer.getvalue())
    else:
        atomic_write(args.output, buffer.getvalue().encode())
        say(f"wrote {len(rows)} predictions to {args.output}")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    model, x, y_raw, info = _model_inputs(args.model, args.data, args.target)
    predictions, probabilities = _predict(model, x, info)
    result: dict[str, Any] = {"samples": int(x.shape[0])}
    if info["task"] == "classification":
        classes = info["classes"]
        lookup = {str(c): i for i, c in enumerate(classes)}
        if y_raw.dtype.kind in "f":
            labels = [str(int(v)) if float(v).is_integer() else str(v) for v in y_raw]
            lookup.update(
                {
                    str(int(c)) if isinstance(c, float) and c.is_integer() else str(c): i
                    for i, c in enumerate(classes)
                }
            )
        else:
            labels = [str(v) for v in y_raw]
        unknown = sorted({label for label in labels if label not in lookup})
        if unknown:
            raise CommandError(
                f"column {args.target!r} holds labels the model does not know: "
                f"{', '.join(unknown[:5])} (it knows {', '.join(map(str, classes))})"
            )
        indices = np.array([lookup[label] for label in labels])
        assert probabilities is not None  # a classifier's predictions come with them
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
        result["mse"] = float(np.mean((predicted - truth) ** 2))
        result["mae"] = float(np.mean(np.abs(predicted - truth)))
        result["r2"] = metrics.r2_score(truth, predicted)
    print(json.dumps(result, indent=2))
    return 0
