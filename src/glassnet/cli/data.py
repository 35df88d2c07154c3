"""``glassnet train``'s data: loaded, its targets encoded, split and standardised as asked.

Every check on the data is made here, before any training: the source, the target column, the
task, the held-out part, and the values standardisation and ``--dtype float32`` can hold. The
same settings give the same rows on ``--resume``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np

from ..datasets import SYNTHETIC, Dataset, load_csv, load_dataset, validation_split
from ..model import losses
from ..model.targets import encode_labels
from .common import CommandError
from .memory import check_memory
from .modelinfo import Label, ModelInfo, Scaling

__all__ = ["Prepared", "prepare"]

#: regression targets whose standard deviation or mean is larger than this in size train badly
#: unless they are standardised
_LARGE_TARGET = 1e3
#: bytes of memory per sample of a synthetic dataset (its columns, the split, copies)
_BYTES_PER_SYNTHETIC_SAMPLE = 256

#: the held-out ``(x, y)``, if any
_Validation: TypeAlias = "tuple[np.ndarray, np.ndarray] | None"


@dataclass(frozen=True)
class Prepared:
    """The data a run trains on, as the settings say (also on resume: the same rows are held
    out). ``y`` is class indices, or numbers (standardised with ``--standardize-target``)."""

    x: np.ndarray
    y: np.ndarray
    validation: _Validation
    info: ModelInfo
    description: str
    #: advice to give with the results (a regression target too large to learn well)
    advice: str | None


def _load_data(settings: dict[str, Any]) -> Dataset:
    if settings["data"] is not None:
        if settings["target"] is None:
            raise CommandError("--data needs --target COLUMN: the column to predict")
        if settings["n_samples"] is not None or settings["noise"] is not None:
            raise CommandError("--n-samples and --noise apply to --dataset only")
        labels = settings["task"] == "classification"
        return load_csv(settings["data"], settings["target"], labels=labels)
    if settings["dataset"] is None:
        raise CommandError("give --data CSV --target COLUMN, or --dataset NAME")
    n_samples = settings["n_samples"]
    if settings["dataset"] in SYNTHETIC and n_samples is not None:
        check_memory(
            n_samples * _BYTES_PER_SYNTHETIC_SAMPLE,
            f"--dataset {settings['dataset']} with --n-samples {n_samples}",
            "choose a smaller --n-samples",
        )
    return load_dataset(settings["dataset"], n_samples, settings["noise"], settings["seed"])


def _label(value: Any) -> Label:
    """A class label as JSON keeps it: an integral float becomes an int (``0``, not ``0.0``)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _targets(dataset: Dataset, task: str) -> tuple[np.ndarray, list[Label] | None]:
    """The target column as class indices (with the classes) or numbers (with None)."""
    name = dataset.target
    if task == "regression":
        if dataset.y.dtype.kind not in "biuf":
            raise CommandError(
                f"the target {name!r} holds text; regression needs numbers "
                "(use --task classification)"
            )
        return dataset.y.astype(float), None
    if dataset.y.dtype.kind == "f" and not np.all(dataset.y == np.round(dataset.y)):
        raise CommandError(
            f"the target {name!r} holds non-integer numbers; classification needs labels "
            "(integers or text), or use --task regression"
        )
    classes, labels = encode_labels(dataset.y)
    if len(classes) < 2:
        raise CommandError(
            f"the target {name!r} has a single class ({_label(classes[0].item())!r}); "
            "classification needs at least 2"
        )
    return labels, [_label(c) for c in classes.tolist()]


def _scaling(values: np.ndarray, names: list[str], flag: str, *parts: np.ndarray) -> Scaling:
    """The training part's statistics, checked to standardise every part to finite values."""
    scaling = Scaling.of(values)
    for part in (values, *parts):
        finite = np.isfinite(scaling.apply(part)).all(axis=0)
        if not finite.all():
            column = int(np.argmin(finite))
            peak = float(np.abs(part[:, column]).max())
            raise CommandError(
                f"{flag}: the column {names[column]!r} cannot be standardised: its values "
                f"(up to {peak:.3g} in size) are too large"
            )
    return scaling


def _check_float32(x: np.ndarray, y: np.ndarray | None, names: list[str]) -> None:
    """Refuse values that float32 cannot hold, naming the column."""
    largest = float(np.finfo(np.float32).max)
    columns = x if y is None else np.column_stack([x, y])
    too_large = (np.abs(columns) > largest).any(axis=0)
    if too_large.any():
        column = int(np.argmax(too_large))
        peak = float(np.abs(columns[:, column]).max())
        hint = "--standardize-target" if column == x.shape[1] else "--standardize"
        raise CommandError(
            f"--dtype float32: the column {names[column]!r} holds values too large for float32 "
            f"(up to {peak:.3g}); use {hint} or --dtype float64"
        )


def _advice(y: np.ndarray, target: str) -> str | None:
    """Advice for a regression target too large (in spread or size) to learn well as it is."""
    scaling = Scaling.of(y[:, None])
    mean, spread = float(scaling.mean[0]), float(scaling.scale[0])
    if spread > _LARGE_TARGET or abs(mean) > _LARGE_TARGET:
        return (
            f"the target {target!r} has mean {mean:.3g} and standard deviation {spread:.3g}; "
            "a network learns such large numbers slowly if at all: --standardize-target "
            "usually helps"
        )
    return None


def _split(
    settings: dict[str, Any], x: np.ndarray, y: np.ndarray, task: str
) -> tuple[np.ndarray, np.ndarray, _Validation]:
    fraction = settings["validation_split"]
    if fraction == 0:
        return x, y, None
    try:
        x, x_val, y, y_val = validation_split(
            x,
            y,
            fraction=fraction,
            random_state=settings["seed"],
            labels=y if task == "classification" else None,
            name="--validation-split",
        )
    except ValueError as error:
        raise CommandError(
            f"cannot hold out --validation-split {fraction} of {len(y)} samples: {error}"
        ) from None
    return x, y, (x_val, y_val)


def prepare(settings: dict[str, Any]) -> Prepared:
    """Data → what the run trains on, exactly as the settings say."""
    dataset = _load_data(settings)
    task, reason = dataset.guess_task()
    if settings["task"] != "auto":
        task, reason = settings["task"], "--task"
    elif settings["loss"] is not None and losses.get(settings["loss"]).fused_activation == "exp":
        # counts are integers, which the guess takes for class labels; a Poisson loss says what
        # they are (other regression losses on integer targets still ask for --task regression)
        task, reason = "regression", f"--loss {settings['loss']} models counts"
    if settings["standardize_target"] and task != "regression":
        raise CommandError(f"--standardize-target is for regression; the task is {task} ({reason})")
    y, classes = _targets(dataset, task)
    if len(y) < 2:
        raise CommandError(f"{dataset.description}: at least 2 samples are needed to train")
    x, y, validation = _split(settings, dataset.x, y, task)
    x_val, y_val = (None, None) if validation is None else validation
    standardize = target_standardize = None
    if settings["standardize"]:
        held_out = () if x_val is None else (x_val,)
        standardize = _scaling(x, dataset.feature_names, "--standardize", *held_out)
        x = standardize.apply(x)
        x_val = None if x_val is None else standardize.apply(x_val)
    advice = None
    if settings["standardize_target"]:
        held_out = () if y_val is None else (y_val[:, None],)
        target_standardize = _scaling(
            y[:, None], [dataset.target], "--standardize-target", *held_out
        )
        y = target_standardize.apply(y[:, None])[:, 0]
        y_val = None if y_val is None else target_standardize.apply(y_val[:, None])[:, 0]
    elif task == "regression":
        advice = _advice(y, dataset.target)
    if settings["dtype"] == "float32":
        names = [*dataset.feature_names, dataset.target]
        _check_float32(x, y if task == "regression" else None, names)
        if x_val is not None and y_val is not None:
            _check_float32(x_val, y_val if task == "regression" else None, names)
    info = ModelInfo(
        task=task,
        features=dataset.feature_names,
        target=dataset.target,
        classes=classes,
        class_names=(
            dataset.class_names
            if classes is not None
            and dataset.class_names is not None
            and len(dataset.class_names) == len(classes)
            else None
        ),
        standardize=standardize,
        target_standardize=target_standardize,
        task_reason=reason,
        settings={**settings, "hidden": list(settings["hidden"])},
    )
    validation = None if x_val is None or y_val is None else (x_val, y_val)
    return Prepared(x, y, validation, info, dataset.description, advice)
