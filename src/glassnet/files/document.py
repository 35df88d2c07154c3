"""What a model file's document says: the layout of a network, its state and its training run.

The document (JSON) holds the network's configuration (``NeuralNetwork.get_config()``), its state
(the optimizer's step count, the random generator's state, the history), the user's metadata, and,
in a checkpoint, the position in the training run. The tensors have plain names that other tools
can read: ``layers.0.weights``, ``layers.0.bias``, …, ``optimizer.0.m`` and the like (flat vectors
over all parameters in file order: every layer's weights row by row, then every layer's bias,
whatever the layout in memory), ``early_stopping.best_parameters`` and ``training.order``.

Writing takes a network through its public attributes only; reading checks that the tensors
match the layout before any is read (see :func:`check_tensor_specs`); building objects back is
:mod:`glassnet.io`'s.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from .._validation import check_dtype
from ..optim import optimizers
from .container import ModelFileError, TensorSpecs, expect, read_dict, read_int

__all__ = ["check_tensor_specs", "label_document", "network_config", "network_document"]

_MAX_LAYERS = 10_000
BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")
LABEL_DTYPES = {
    "bool",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float32",
    "float64",
}
NETWORK_KEYS = {"layers", "loss", "optimizer", "l2", "task", "dtype"}
LAYER_KEYS = {"n_inputs", "n_outputs", "activation", "weight_init"}


def rng_state(rng: np.random.Generator) -> dict:
    """The generator's state as JSON data (for the bit generators NumPy ships)."""
    state = rng.bit_generator.state
    if state.get("bit_generator") not in BIT_GENERATORS:
        raise ValueError(f"cannot save a random generator of type {state.get('bit_generator')!r}")

    def plain(value: Any) -> Any:
        return value.tolist() if isinstance(value, np.ndarray) else int(value)

    return json.loads(json.dumps(state, default=plain))


def network_document(network: Any) -> tuple[dict, dict[str, np.ndarray]]:
    """``({"network", "state", "metadata"}, tensors)`` for a :class:`~glassnet.NeuralNetwork`."""
    tensors: dict[str, np.ndarray] = {}
    for index, layer in enumerate(network.layers):
        tensors[f"layers.{index}.weights"] = layer.weights
        tensors[f"layers.{index}.bias"] = layer.bias
    optimizer_state = network.optimizer.state_dict()
    order = network.file_order()
    for index, slot in enumerate(optimizer_state["slots"]):
        for name, array in slot.items():
            tensors[f"optimizer.{index}.{name}"] = array[order]
    history = {name: list(map(float, values)) for name, values in vars(network.history).items()}
    state = {
        "optimizer_iterations": optimizer_state["iterations"],
        "optimizer_slots": len(optimizer_state["slots"]),
        "rng": rng_state(network.rng),
        "history": history,
    }
    try:
        metadata = json.loads(json.dumps(network.metadata, allow_nan=False))
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"network.metadata must be plain JSON data (dicts, lists, strings, numbers): {error}"
        ) from None
    if not isinstance(metadata, dict):
        raise ValueError(f"network.metadata must be a dict, got {type(network.metadata).__name__}")
    return {"network": network.get_config(), "state": state, "metadata": metadata}, tensors


def label_document(classes: np.ndarray) -> dict:
    """A classifier's class labels as JSON data (numbers or strings)."""
    classes = np.asarray(classes)
    if classes.dtype.kind in "biuf" and classes.dtype.name in LABEL_DTYPES:
        return {"dtype": classes.dtype.name, "values": classes.tolist()}
    strings = classes.dtype.kind == "O" and all(isinstance(c, str) for c in classes)
    if classes.dtype.kind == "U" or strings:
        kind = "object" if classes.dtype.kind == "O" else "str"
        return {"dtype": kind, "values": [str(c) for c in classes]}
    raise ValueError(f"cannot save class labels of dtype {classes.dtype}; use integers or strings")


def network_config(document: dict) -> tuple[dict[str, Any], np.dtype]:
    """The document's network configuration, its structure checked, and its dtype."""
    config = read_dict(document.get("network"), "the file has no 'network' configuration")
    expect(
        NETWORK_KEYS <= set(config) <= NETWORK_KEYS | {"l2_scaling"},  # 0.1's files lack it
        f"the network configuration has unexpected keys {sorted(config)!r:.200}",
    )
    expect(
        config.get("l2_scaling", "constant") in ("constant", "batch"),
        "l2_scaling must be 'constant' or 'batch'",
    )
    layers = config["layers"]
    expect(
        isinstance(layers, list) and 1 <= len(layers) <= _MAX_LAYERS,
        "the configuration needs a list of layers",
    )
    previous = None
    for index, layer in enumerate(layers):
        expect(
            isinstance(layer, dict) and set(layer) == LAYER_KEYS, f"layers[{index}] is malformed"
        )
        n_inputs = read_int(layer["n_inputs"], f"layers[{index}].n_inputs", 1, 2**31)
        read_int(layer["n_outputs"], f"layers[{index}].n_outputs", 1, 2**31)
        expect(
            previous is None or previous == n_inputs,
            f"layers[{index}].n_inputs={n_inputs} does not match the previous layer's outputs "
            f"({previous})",
        )
        previous = layer["n_outputs"]
    try:
        dtype = check_dtype(config["dtype"])
    except (TypeError, ValueError) as error:
        raise ModelFileError(f"network dtype: {error}") from None
    return config, dtype


def _optimizer_slots(value: object) -> tuple[str, ...]:
    config = read_dict(value, "malformed optimizer configuration")
    expect(isinstance(config.get("name"), str), "malformed optimizer configuration")
    try:
        optimizer = optimizers.get(dict(config), "optimizer")
    except (TypeError, ValueError) as error:
        raise ModelFileError(f"optimizer: {error}") from None
    return optimizer.slot_names


def _training_tensors(section: object, dtype: np.dtype, n_params: int) -> TensorSpecs:
    training = read_dict(section, "malformed training section")
    expected: dict = {}
    early = training.get("early_stopping")
    if isinstance(early, dict) and early.get("restore_best") and early.get("best") is not None:
        expected["early_stopping.best_parameters"] = (dtype, (n_params,))
    if training.get("batch") and training.get("shuffle"):
        # the order's length is checked against the data on resume
        expected["training.order"] = (np.dtype("<i8"), None)
    return expected


def expected_tensors(document: dict) -> TensorSpecs:
    """Every tensor the document's configuration calls for: name → (dtype, shape or None)."""
    config, dtype = network_config(document)
    dtype = dtype.newbyteorder("<")
    expected: dict = {}
    n_params = 0
    for index, layer in enumerate(config["layers"]):
        expected[f"layers.{index}.weights"] = (dtype, (layer["n_inputs"], layer["n_outputs"]))
        expected[f"layers.{index}.bias"] = (dtype, (layer["n_outputs"],))
        n_params += layer["n_inputs"] * layer["n_outputs"] + layer["n_outputs"]
    state = read_dict(document.get("state"), "the file has no 'state' section")
    slots = _optimizer_slots(config["optimizer"])
    n_slot_groups = read_int(state.get("optimizer_slots"), "state.optimizer_slots", 0, 1)
    for group in range(n_slot_groups):
        for name in slots:
            expected[f"optimizer.{group}.{name}"] = (dtype, (n_params,))
    if document.get("training") is not None:
        expected.update(_training_tensors(document["training"], dtype, n_params))
    return expected


def check_tensor_specs(document: dict, specs: TensorSpecs) -> None:
    """Raise :class:`ModelFileError` unless the file's tensors are exactly those the document
    calls for, with the dtypes and shapes it says (see :func:`container.read_document`)."""
    expected = expected_tensors(document)
    missing = sorted(set(expected) - set(specs))
    extra = sorted(set(specs) - set(expected))
    expect(not missing, f"the file lacks the tensors {missing[:5]!r:.200}")
    expect(not extra, f"the file has unexpected tensors {extra[:5]!r:.200}")
    for name, (dtype, shape) in expected.items():
        found_dtype, found_shape = specs[name]
        expect(
            found_dtype == dtype,
            f"tensor {name!r} has dtype {found_dtype}, the configuration says {dtype}",
        )
        if shape is None:
            expect(len(found_shape) == 1, f"tensor {name!r} must be 1-D")
        else:
            expect(
                found_shape == shape,
                f"tensor {name!r} has shape {found_shape}, the configuration says {shape}",
            )
