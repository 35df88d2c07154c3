"""Saving, loading and resuming: models to files and back (needs ``safetensors``).

:func:`save` writes a :class:`~glassnet.NeuralNetwork` or a fitted estimator to one model file
(:mod:`glassnet.files`: safetensors tensors with plain names, a JSON document, a checksum, written
atomically; never pickle); :func:`load` reads it back, strictly: the header is checked against the
configuration before any tensor is read, names resolve only through glassnet's registries, and
every failure on a malformed, truncated, hostile or foreign file is a :class:`ModelFileError` (a
``ValueError``). :func:`resume` continues the training run a checkpoint was saved from.

Estimators take part through two public methods of theirs: ``file_state()`` gives their network
and fitted attributes, ``from_file_state(...)`` builds one back.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from .files import atomic, container, document
from .files.atomic import PathArgument
from .files.container import FORMAT_VERSION, ModelFileError, expect, read_dict, read_int
from .network import NeuralNetwork
from .training.callbacks import Callback, EarlyStopping, History
from .training.checkpoint import ResumePoint
from .training.loop import train

__all__ = ["FORMAT_VERSION", "ModelFileError", "load", "read_file", "resume", "save"]

_ESTIMATOR_KINDS = container.KINDS[1:]


# ====================================================================== writing
def save(model: object, path: PathArgument) -> None:
    """Save a :class:`NeuralNetwork` or a fitted estimator to ``path``, atomically.

    The file holds the parameters, the optimizer state, the history and the random generator's
    state, so a loaded model predicts the same and can keep training.

    Raises
    ------
    TypeError
        For anything else than a network or a glassnet estimator.
    ValueError
        For an estimator that is not fitted, or state that cannot be written (class labels that
        are neither numbers nor strings, a custom random generator).
    """
    content, tensors = _model_document(model)
    atomic.atomic_write(path, container.serialise(content, tensors))


def _model_document(model: object) -> tuple[dict, dict[str, np.ndarray]]:
    if isinstance(model, NeuralNetwork):
        if not model.layers:
            raise ValueError("cannot save a network without layers")
        body, tensors = document.network_document(model)
        return {**container.header("NeuralNetwork"), **body}, tensors
    kind = type(model).__name__
    if kind in _ESTIMATOR_KINDS and type(model).__module__ == "glassnet.estimators":
        network, fitted = model.file_state()  # type: ignore[attr-defined]
        body, tensors = document.network_document(network)
        section = {
            "params": fitted["params"],
            "n_features_in": fitted["n_features_in"],
            "feature_names_in": fitted["feature_names_in"],
        }
        if "classes" in fitted:
            section["classes"] = document.label_document(fitted["classes"])
            if fitted.get("multilabel"):
                section["multilabel"] = True  # classes are label indices; y is an indicator matrix
        else:
            section["n_outputs"] = fitted["n_outputs"]
        return {**container.header(kind), **body, "estimator": section}, tensors
    raise TypeError(f"save expects a NeuralNetwork or a glassnet estimator, got {kind}")


# ====================================================================== reading
def read_file(path: PathArgument) -> tuple[dict, dict[str, np.ndarray]]:
    """A model file's document and tensors, verified (checksum, tensors against the document).

    Raises
    ------
    ModelFileError
        For anything that is not a valid glassnet model file.
    """
    return container.read_document(path, document.check_tensor_specs)


def _finite(name: str, array: np.ndarray) -> np.ndarray:
    expect(bool(np.isfinite(array).all()), f"tensor {name!r} contains NaN or infinity")
    return array


def _from_file_order(network: NeuralNetwork, flat: np.ndarray) -> np.ndarray:
    """A flat vector read from a file (weights of every layer, then biases) in memory's layout."""
    result = np.empty_like(flat)
    result[network.file_order()] = flat
    return result


def _build_network(content: dict, tensors: dict[str, np.ndarray]) -> NeuralNetwork:
    config, _ = document.network_config(content)
    state = content["state"]
    expect(isinstance(config["loss"], dict), "malformed loss configuration")
    try:
        parameters = [
            (
                _finite(f"layers.{i}.weights", tensors[f"layers.{i}.weights"]),
                _finite(f"layers.{i}.bias", tensors[f"layers.{i}.bias"]),
            )
            for i in range(len(config["layers"]))
        ]
        network = NeuralNetwork.from_config(config, parameters=parameters)
        slots = [
            {
                name: _from_file_order(network, _finite(key, tensors[key]))
                for name in network.optimizer.slot_names
                for key in [f"optimizer.{group}.{name}"]
            }
            for group in range(state["optimizer_slots"])
        ]
        iterations = read_int(state.get("optimizer_iterations"), "state.optimizer_iterations", 0)
        optimizer_state = {"iterations": iterations, "slots": slots}
        network.optimizer.load_state_dict(optimizer_state, [network.parameters])
        network.rng = _build_rng(state.get("rng"))
        network.history = _build_history(state.get("history"))
        metadata = content.get("metadata", {})
        expect(isinstance(metadata, dict), "malformed metadata section")
        network.metadata = metadata
    except ModelFileError:
        raise
    except (TypeError, ValueError, KeyError) as error:
        raise ModelFileError(f"invalid model configuration: {error}") from None
    return network


def _build_rng(value: object) -> np.random.Generator:
    state = read_dict(value, "malformed random generator state")
    expect(
        state.get("bit_generator") in document.BIT_GENERATORS, "malformed random generator state"
    )
    bit_generator = getattr(np.random, state["bit_generator"])()
    try:
        bit_generator.state = state
    except (TypeError, ValueError, KeyError, OverflowError) as error:
        raise ModelFileError(f"malformed random generator state: {error}") from None
    return np.random.Generator(bit_generator)


def _build_history(value: object) -> History:
    data = read_dict(value, "malformed history")
    fields = set(vars(History()))
    unknown = set(data) - fields
    expect(not unknown, f"unknown history fields {sorted(unknown)!r:.100}")
    series = {}
    for name, values in data.items():
        numbers = isinstance(values, list) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in values
        )
        expect(numbers, f"history {name!r} must be a list of numbers")
        series[name] = [float(v) for v in values]  # the document holds no int beyond a float
    return History(**series)


def _build_labels(value: object) -> np.ndarray:
    data = read_dict(value, "malformed classes")
    expect(isinstance(data.get("values"), list), "malformed classes")
    dtype, values = data.get("dtype"), data["values"]
    expect(2 <= len(values) <= 2**24, "classes must list at least 2 labels")
    if dtype in ("str", "object"):
        expect(all(isinstance(v, str) for v in values), "string classes must be strings")
        labels = np.array(values, dtype=object if dtype == "object" else str)
    else:
        known = isinstance(dtype, str) and dtype in document.LABEL_DTYPES
        expect(known, f"unsupported class dtype {dtype!r:.40}")
        numbers = all(isinstance(v, (int, float, bool)) for v in values)
        expect(numbers, "numeric classes must be numbers")
        try:
            labels = np.array(values, dtype=dtype)
        except (OverflowError, ValueError, TypeError) as error:
            raise ModelFileError(f"malformed classes: {error}") from None
    distinct = len(np.unique(labels)) == len(labels) and bool(np.all(labels[:-1] < labels[1:]))
    expect(distinct, "classes must be sorted and distinct")
    return labels


def _build_estimator(content: dict, network: NeuralNetwork) -> Any:
    from . import estimators

    data = read_dict(content.get("estimator"), "malformed estimator section")
    expect(isinstance(data.get("params"), dict), "malformed estimator section")
    n_features = read_int(data.get("n_features_in"), "n_features_in", 1, 2**31)
    names = data.get("feature_names_in")
    expect(
        names is None
        or (
            isinstance(names, list)
            and len(names) == n_features
            and all(isinstance(n, str) for n in names)
        ),
        "malformed feature_names_in",
    )
    fitted: dict[str, Any] = {"n_features_in": n_features, "feature_names_in": names}
    if content["kind"] == "NeuralNetworkClassifier":
        fitted["classes"] = _build_labels(data.get("classes"))
        multilabel = data.get("multilabel", False)  # older files are not multilabel
        expect(isinstance(multilabel, bool), "multilabel must be true or false")
        fitted["multilabel"] = multilabel
    else:
        fitted["n_outputs"] = read_int(data.get("n_outputs"), "n_outputs", 1, 2**31)
    cls = getattr(estimators, content["kind"])
    try:
        return cls.from_file_state(network, dict(data["params"]), fitted)
    except (TypeError, ValueError) as error:
        raise ModelFileError(f"invalid estimator: {error}") from None


@contextlib.contextmanager
def _file_errors(shown: str) -> Iterator[None]:
    """Whatever a file's content makes go wrong in the block is a :class:`ModelFileError`
    naming the file."""
    try:
        yield
    except ModelFileError as error:
        raise ModelFileError(f"{shown} is not a valid glassnet model file: {error}") from None
    except Exception as error:  # anything unforeseen in a hostile file is still a file error
        raise ModelFileError(
            f"{shown} is not a valid glassnet model file ({type(error).__name__}: {error})"
        ) from None


def load(path: PathArgument) -> Any:
    """Load what :func:`save` wrote (a network or an estimator); checkpoints load as networks.

    Raises
    ------
    ModelFileError
        For any file that is not a valid glassnet model file: malformed, truncated, altered,
        hostile, from a newer format version, or something else entirely.
    FileNotFoundError, IsADirectoryError, PermissionError
        When ``path`` itself cannot be opened.
    """
    shown = atomic.display_path(path)
    content, tensors = read_file(shown)
    with _file_errors(shown):
        network = _build_network(content, tensors)
        if content["kind"] == "NeuralNetwork":
            return network
        return _build_estimator(content, network)


# ====================================================================== resuming
def _build_early_stopping(
    value: object, tensors: dict[str, np.ndarray], network: NeuralNetwork
) -> EarlyStopping | None:
    if value is None:
        return None
    data = read_dict(value, "malformed early_stopping state")
    settings = (data["monitor"], data["patience"], data["min_delta"], data["restore_best"])
    early = EarlyStopping(*settings)
    best = data.get("best")
    early.best = None if best is None else _read_float(best, "early_stopping.best")
    best_epoch = data.get("best_epoch")
    early.best_epoch = (
        None if best_epoch is None else read_int(best_epoch, "early_stopping.best_epoch")
    )
    early.wait = read_int(data.get("wait"), "early_stopping.wait")
    early.stopped = bool(data.get("stopped"))
    if "early_stopping.best_parameters" in tensors:
        name = "early_stopping.best_parameters"
        early.best_parameters = _from_file_order(network, _finite(name, tensors[name]))
    return early


def _read_float(value: object, what: str) -> float:
    """``value`` as a float if it is a JSON number, else a :class:`ModelFileError`."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    expect(number, f"{what} must be a number, got {value!r:.80}")
    return float(value)  # type: ignore[arg-type]  # the document holds no int beyond a float


def _read_run(training: dict, network: NeuralNetwork) -> dict[str, Any]:
    size = training.get("batch_size")
    fingerprint = training.get("fingerprint")
    run = {
        "target_epochs": read_int(training.get("target_epochs"), "training.target_epochs", 0),
        "epoch": read_int(training.get("epoch"), "training.epoch", 0),
        "batch": read_int(training.get("batch"), "training.batch", 0),
        "shuffle": training.get("shuffle"),
        "batch_size": None if size is None else read_int(size, "training.batch_size", 1),
        "checkpoint_every": read_int(
            training.get("checkpoint_every"), "training.checkpoint_every", 1
        ),
        "fingerprint": fingerprint,
        "total": _read_float(training.get("total", 0.0), "training.total"),
    }
    expect(isinstance(run["shuffle"], bool), "training.shuffle must be a bool")
    expect(
        fingerprint is None or (isinstance(fingerprint, str) and len(fingerprint) < 200),
        "malformed training.fingerprint",
    )
    expect(
        run["epoch"] == network.history.epochs, "the checkpoint's epoch does not match its history"
    )
    return run


def resume(
    path: PathArgument,
    x: object,
    y: object,
    *,
    validation_data: tuple | None = None,
    sample_weight: object = None,
    verbose: int = 0,
    callbacks: Sequence[Callback] = (),
    checkpoint: str | os.PathLike[str] | None = None,
) -> NeuralNetwork:
    """Continue the training run a checkpoint was saved from, to its planned number of epochs.

    Give the same data (and validation data, if the run had some): the result is then bit for
    bit what the uninterrupted run would have produced, on the same machine (the ``epoch_time``
    history is wall-clock and differs). Checkpoints keep being written to ``checkpoint``
    (default: ``path``) as in the original run.

    Returns
    -------
    NeuralNetwork
        The trained network (a finished checkpoint returns as it is).
    """
    shown = atomic.display_path(path)
    content, tensors = read_file(shown)
    training = content.get("training")
    if not isinstance(training, dict):
        raise ModelFileError(f"{shown} is a model file, not a checkpoint: it has no training state")
    with _file_errors(shown):
        network = _build_network(content, tensors)
        try:
            run = _read_run(training, network)
            early = _build_early_stopping(training.get("early_stopping"), tensors, network)
        except ModelFileError:
            raise
        except (TypeError, ValueError, KeyError) as error:
            raise ModelFileError(f"malformed training state: {error!r}") from None
    if training.get("finished") or run["epoch"] >= run["target_epochs"]:
        return network
    if bool(training.get("validation")) and validation_data is None:
        raise ValueError(
            "this run was validated on validation_data after every epoch; pass the same "
            "validation_data to resume it"
        )
    order = tensors.get("training.order") if run["batch"] else None
    if order is not None and not np.array_equal(np.sort(order), np.arange(order.size)):
        raise ModelFileError(
            f"{shown} is not a valid glassnet model file: its training.order is not an order of "
            "the samples (each index once)"
        )
    point = ResumePoint(
        target_epochs=run["target_epochs"],
        fingerprint=run["fingerprint"],
        batch=run["batch"],
        total=run["total"] if run["batch"] else 0.0,
        order=None if order is None else order.astype(np.intp),
    )
    train(
        network,
        x,
        y,
        max(run["target_epochs"] - run["epoch"], 1),
        run["batch_size"],
        run["shuffle"],
        validation_data,
        verbose,
        sample_weight=sample_weight,
        early_stopping=early,
        callbacks=callbacks,
        checkpoint=shown if checkpoint is None else checkpoint,
        checkpoint_every=run["checkpoint_every"],
        resume=point,
    )
    return network
