"""What ``glassnet train`` writes into a model's metadata (``metadata["cli"]``), and its checks.

The section names the task, the feature columns, the classes, the standardisation statistics and
the run's settings. ``predict``, ``evaluate`` and ``train --resume`` read it back through
:meth:`ModelInfo.from_metadata` and :func:`check_settings`, which refuse anything malformed (an
edited file, say) with a :class:`~glassnet.io.ModelFileError` naming the file, so that nothing
later trips over it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..datasets import BUILTIN
from ..files.container import ModelFileError
from ..model import activations, losses
from ..model.targets import TASKS
from ..optim import optimizers

__all__ = ["SETTINGS", "Label", "ModelInfo", "Scaling", "check_settings", "label_text"]

#: a class label as the command line keeps it: text, or a number (an int where it is integral)
Label = str | int | float


class _Invalid(Exception):
    """A malformed entry; becomes a ModelFileError naming the file."""


def _fail(path: str, what: str) -> ModelFileError:
    return ModelFileError(f"{path} is not a valid glassnet model file: {what}")


def _is_number(value: object) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def label_text(label: Label) -> str:
    """A label as printed: ``0`` for the integral float ``0.0`` (older files kept floats)."""
    if isinstance(label, float) and label.is_integer():
        return str(int(label))
    return str(label)


@dataclass(frozen=True)
class Scaling:
    """``(v − mean) / scale`` per column, with the statistics of the training part.

    Attributes
    ----------
    mean, scale : ndarray of shape (n_columns,)
        Finite; ``scale`` positive.
    """

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def of(cls, values: np.ndarray) -> Scaling:
        """Mean and standard deviation of each column of ``values`` (n_rows, n_columns); a
        constant column gets scale 1.

        The columns are first divided by a power of two near their largest magnitude, which
        changes no bit of the result but keeps sums of squares of values near 1e300 finite.
        """
        with np.errstate(all="ignore"):
            _, exponent = np.frexp(np.abs(values).max(axis=0))
            power = np.ldexp(1.0, exponent - 1)  # the values become at most 2 in size
            shrunk = values / power
            mean = shrunk.mean(axis=0) * power
            scale = shrunk.std(axis=0) * power
        return cls(mean, np.where(scale > 0, scale, 1.0))

    def apply(self, values: np.ndarray) -> np.ndarray:
        """``(values − mean) / scale``; non-finite where the result is too large.

        Computed in units of a power of two near ``scale`` (which changes no bit of the result),
        so that ``values − mean`` cannot overflow for values near the largest float.
        """
        power = self._power()
        with np.errstate(all="ignore"):
            return (values / power - self.mean / power) / (self.scale / power)

    def undo(self, values: np.ndarray) -> np.ndarray:
        """``values · scale + mean`` (in units of a power of two near ``scale``, likewise)."""
        power = self._power()
        with np.errstate(all="ignore"):
            return (values * (self.scale / power) + self.mean / power) * power

    def _power(self) -> np.ndarray:
        """A power of two in (scale / 2, scale], a finite one even for the largest scale."""
        _, exponent = np.frexp(self.scale)
        return np.ldexp(1.0, exponent - 1)

    def to_json(self) -> dict[str, list[float]]:
        return {"mean": self.mean.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_json(cls, data: object, size: int | None, name: str) -> Scaling:
        if not isinstance(data, dict) or set(data) != {"mean", "scale"}:
            raise _Invalid(f"{name} must hold 'mean' and 'scale'")
        mean, scale = data["mean"], data["scale"]
        if not (
            isinstance(mean, list)
            and isinstance(scale, list)
            and all(map(_is_number, mean + scale))
            and len(mean) == len(scale)
            and (size is None or len(mean) == size)
        ):
            wanted = "" if size is None else f" of {size}"
            raise _Invalid(f"{name} must hold two lists{wanted} finite numbers")
        if not all(value > 0 for value in scale):
            raise _Invalid(f"{name}'s scale must be positive")
        return cls(np.array(mean, dtype=float), np.array(scale, dtype=float))


@dataclass(frozen=True)
class ModelInfo:
    """The command line's description of a model it trained.

    Attributes
    ----------
    task : {"classification", "regression"}
    features : list of str
        The feature columns, in the order the network takes them.
    target : str
        The target column.
    classes : list of labels or None
        The labels of the network's classes (None for regression).
    class_names : list of str or None
        Names of the classes of a built-in dataset.
    standardize : Scaling or None
        Applied to the features before the network (``--standardize``).
    target_standardize : Scaling or None
        What the network's outputs are undone with (``--standardize-target``).
    task_reason : str or None
        Why the task was chosen.
    settings : dict or None
        The ``glassnet train`` settings of the run (see :func:`check_settings`).
    """

    task: str
    features: list[str]
    target: str
    classes: list[Label] | None
    class_names: list[str] | None = None
    standardize: Scaling | None = None
    target_standardize: Scaling | None = None
    task_reason: str | None = None
    settings: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "task": self.task,
            "features": self.features,
            "target": self.target,
            "classes": self.classes,
            "standardize": None if self.standardize is None else self.standardize.to_json(),
            "target_standardize": (
                None if self.target_standardize is None else self.target_standardize.to_json()
            ),
        }
        if self.class_names is not None:
            data["class_names"] = self.class_names
        if self.task_reason is not None:
            data["task_reason"] = self.task_reason
        if self.settings is not None:
            data["settings"] = self.settings
        return data

    @classmethod
    def from_metadata(
        cls, metadata: dict[str, Any], path: str, network: Any = None
    ) -> ModelInfo | None:
        """The checked ``metadata["cli"]`` of a model (None where there is none).

        With ``network`` (a :class:`~glassnet.NeuralNetwork`), the section must fit it: as many
        features as inputs, as many classes as it tells apart, the same task.

        Raises
        ------
        ModelFileError
            ``"PATH is not a valid glassnet model file: ..."`` for anything malformed.
        """
        if "cli" not in metadata:
            return None
        try:
            return cls._parse(metadata["cli"], network)
        except _Invalid as error:
            raise _fail(path, f"its command-line metadata is malformed: {error}") from None

    @classmethod
    def _parse(cls, data: object, network: Any) -> ModelInfo:
        if not isinstance(data, dict):
            raise _Invalid("it is not a mapping")
        task = data.get("task")
        if task not in TASKS:
            raise _Invalid(f"task must be one of {', '.join(TASKS)}, got {task!r:.40}")
        if network is not None and network.task not in (None, task):
            raise _Invalid(f"it says {task}, but the network does {network.task}")
        features = data.get("features")
        n_inputs = None if network is None else network.n_inputs
        if not (
            isinstance(features, list)
            and features
            and all(isinstance(name, str) for name in features)
            and len(set(features)) == len(features)
        ):
            raise _Invalid("features must be a list of distinct column names")
        if n_inputs is not None and len(features) != n_inputs:
            raise _Invalid(f"it names {len(features)} features; the network takes {n_inputs}")
        target = data.get("target", "")
        if not isinstance(target, str):
            raise _Invalid("target must be a column name")
        classes = _classes(data.get("classes"), task, network)
        class_names = data.get("class_names")
        if class_names is not None and not (
            isinstance(class_names, list)
            and classes is not None
            and len(class_names) == len(classes)
            and all(isinstance(name, str) for name in class_names)
        ):
            raise _Invalid("class_names must be a list of names, one per class")
        standardize = data.get("standardize")
        if standardize is not None:
            standardize = Scaling.from_json(standardize, len(features), "standardize")
        target_standardize = data.get("target_standardize")
        if target_standardize is not None:
            if task != "regression":
                raise _Invalid("target_standardize is for regression models")
            n_outputs = None if network is None else network.n_outputs
            target_standardize = Scaling.from_json(
                target_standardize, n_outputs, "target_standardize"
            )
        reason = data.get("task_reason")
        if reason is not None and not isinstance(reason, str):
            raise _Invalid("task_reason must be text")
        settings = data.get("settings")
        if settings is not None and not isinstance(settings, dict):
            raise _Invalid("settings must be a mapping")
        return cls(
            task,
            features,
            target,
            classes,
            class_names,
            standardize,
            target_standardize,
            reason,
            settings,
        )


def _classes(value: object, task: str, network: Any) -> list[Label] | None:
    if task == "regression":
        if value is not None:
            raise _Invalid("a regression model has no classes")
        return None
    texts = isinstance(value, list) and all(isinstance(label, str) for label in value)
    numbers = isinstance(value, list) and all(map(_is_number, value))
    if not (isinstance(value, list) and (texts or numbers) and len(value) >= 2):
        raise _Invalid("classes must be a list of at least 2 labels, all text or all numbers")
    if len(set(value)) != len(value):
        raise _Invalid("classes must be distinct")
    n_classes = None if network is None else network.n_classes
    if n_classes is not None and len(value) != n_classes:
        raise _Invalid(f"it lists {len(value)} classes; the network tells apart {n_classes}")
    return list(value)


def _optional(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda value: value is None or check(value)


def _int_at_least(minimum: int, maximum: int = 2**31 - 1) -> Callable[[Any], bool]:
    return lambda value: _is_int(value) and minimum <= value <= maximum


def _number_in(low: float, high: float, strict: bool = False) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        return _is_number(value) and (value > low if strict else value >= low) and value < high

    return check


def _one_of(names: Callable[[], list[str]] | tuple[str, ...]) -> Callable[[Any], bool]:
    return lambda value: value in (names() if callable(names) else names)


#: the settings of a ``glassnet train`` run, as its checkpoint and model record them, and what
#: each must be
_SETTING_CHECKS: dict[str, Callable[[Any], bool]] = {
    "data": _optional(lambda value: isinstance(value, str)),
    "target": _optional(lambda value: isinstance(value, str)),
    "dataset": _optional(_one_of(BUILTIN)),
    "n_samples": _optional(_int_at_least(1)),
    "noise": _optional(_number_in(0, math.inf)),
    "task": _one_of(("auto", *TASKS)),
    "validation_split": _number_in(0, 1),
    "standardize": lambda value: isinstance(value, bool),
    "standardize_target": lambda value: isinstance(value, bool),
    "hidden": lambda value: isinstance(value, list) and all(map(_int_at_least(1), value)),
    "activation": _one_of(activations.names),
    "loss": _optional(_one_of(losses.names)),
    "optimizer": _one_of(optimizers.names),
    "lr": _optional(_number_in(0, math.inf, strict=True)),
    "momentum": _number_in(0, 1),
    "l2": _number_in(0, math.inf),
    "batch_size": _int_at_least(1),
    "epochs": _int_at_least(1),
    "seed": _int_at_least(0, 2**32 - 1),
    "dtype": _one_of(("float64", "float32")),
}
#: the settings a run records, in the order of ``glassnet train --help``
SETTINGS = tuple(_SETTING_CHECKS)
#: settings added after the first release, with the value older checkpoints imply
_ADDED_SETTINGS = {"standardize_target": False}


def check_settings(value: object, path: str) -> dict[str, Any]:
    """A run's recorded settings, checked; ``hidden`` as a tuple.

    Raises
    ------
    ModelFileError
        For a missing, unknown or malformed setting.
    """
    if not isinstance(value, dict):
        raise _fail(path, "its settings are not a mapping")
    settings = {**_ADDED_SETTINGS, **value}
    unknown = sorted(set(settings) - set(SETTINGS))
    missing = [name for name in SETTINGS if name not in settings]
    if unknown or missing:
        what = f"unknown setting {unknown[0]!r:.40}" if unknown else f"no setting {missing[0]!r}"
        raise _fail(path, f"its command-line settings are malformed: {what}")
    for name, check in _SETTING_CHECKS.items():
        if not check(settings[name]):
            raise _fail(
                path,
                f"its command-line settings are malformed: {name} = {settings[name]!r:.60}",
            )
    if (settings["data"] is None) == (settings["dataset"] is None):
        raise _fail(path, "its command-line settings name no data (or two)")
    settings["hidden"] = tuple(settings["hidden"])
    return settings
