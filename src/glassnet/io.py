"""Model files: safetensors weights plus a JSON configuration, safe to open and written atomically.

A model file is one `safetensors <https://github.com/huggingface/safetensors>`_ file. Its tensors
have plain names that other tools can read (``layers.0.weights``, ``layers.0.bias``, …, then
``optimizer.0.m`` and the like: flat vectors over all parameters, every layer's weights row by
row and then every layer's bias, whatever the layout in memory); its metadata holds, under the
key ``"glassnet"``, a JSON document with the architecture, activations, loss and optimizer by
their registered names, the dtype, the classes of a classifier, the history and the random
generator's state, the ``format_version`` and the glassnet version, and under
``"glassnet_sha256"`` a checksum of that document and every tensor.

Nothing here uses pickle. Loading is strict: the header is parsed and checked (size, structure,
dtypes, shapes and offsets) against the configuration before any tensor is read, names resolve
only through glassnet's registries, the checksum must match, and every failure on a malformed,
truncated, hostile or foreign file is a :class:`ModelFileError` (a ``ValueError``).

Saving is atomic: the bytes go to a temporary file in the same folder, which is flushed, synced and
renamed over the target, and the folder is synced. A crash leaves the previous file whole; a
temporary file left by a killed process is removed by the next save to the same path.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import tempfile
import warnings
from collections.abc import Sequence

import numpy as np

from . import activations, initializers, losses, optimizers
from ._validation import check_dtype
from .layers import Layer
from .network import TASKS, NeuralNetwork
from .training import EarlyStopping, History

__all__ = ["FORMAT_VERSION", "ModelFileError", "load", "resume", "save"]

#: the version of the file layout this glassnet writes; it reads this one and older ones
FORMAT_VERSION = 1
#: the largest header (JSON) accepted, in bytes
MAX_HEADER_BYTES = 64 * 2**20
_MAX_LAYERS = 10_000
_DTYPES = {"F64": np.dtype("<f8"), "F32": np.dtype("<f4"), "I64": np.dtype("<i8")}
_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")
_KINDS = ("NeuralNetwork", "NeuralNetworkClassifier", "NeuralNetworkRegressor")
_LABEL_DTYPES = {
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32", "float64",
}


class ModelFileError(ValueError):
    """A model file is malformed, truncated, altered, hostile, or not a glassnet model file."""


def _safetensors_numpy():
    try:
        import safetensors.numpy
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "glassnet model files need the 'safetensors' package: pip install 'glassnet[io]'"
        ) from None
    return safetensors.numpy


# ====================================================================== writing
def _temporary_name_pattern(path: str) -> re.Pattern:
    return re.compile(rf"^\.{re.escape(os.path.basename(path))}\.(\d+)\.[A-Za-z0-9_]+\.tmp$")


def _remove_stale_temporaries(path: str) -> None:
    """Delete temporary files that earlier saves to ``path`` left when their process died."""
    folder = os.path.dirname(path) or "."
    pattern = _temporary_name_pattern(path)
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        match = pattern.match(name)
        if not match:
            continue
        pid = int(match.group(1))
        if pid != os.getpid() and _process_alive(pid):
            continue  # another process is saving right now
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(folder, name))


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that a reader sees the old file or the new one, never a mix."""
    path = os.path.abspath(os.fspath(path))
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot save to {path}: the folder {folder} does not exist")
    _remove_stale_temporaries(path)
    fd, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.{os.getpid()}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    with contextlib.suppress(OSError):  # not every platform can open a folder
        folder_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(folder_fd)
        finally:
            os.close(folder_fd)


def _checksum(document: str, tensors: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256(document.encode("utf-8"))
    for name in sorted(tensors):
        array = np.ascontiguousarray(tensors[name])
        digest.update(f"\0{name}\0{array.dtype.str}\0{array.shape}\0".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _serialise(document: dict, tensors: dict[str, np.ndarray]) -> bytes:
    text = json.dumps(document, separators=(",", ":"), allow_nan=True)
    tensors = {name: np.ascontiguousarray(array) for name, array in tensors.items()}
    metadata = {"glassnet": text, "glassnet_sha256": _checksum(text, tensors)}
    return _safetensors_numpy().save(tensors, metadata=metadata)


def _rng_state(rng: np.random.Generator) -> dict:
    state = rng.bit_generator.state
    if state.get("bit_generator") not in _BIT_GENERATORS:
        raise ValueError(f"cannot save a random generator of type {state.get('bit_generator')!r}")
    return json.loads(json.dumps(state, default=lambda value: value.tolist() if isinstance(value, np.ndarray) else int(value)))


def _network_document(network: NeuralNetwork) -> tuple[dict, dict[str, np.ndarray]]:
    tensors: dict[str, np.ndarray] = {}
    for index, layer in enumerate(network.layers):
        tensors[f"layers.{index}.weights"] = layer.weights
        tensors[f"layers.{index}.bias"] = layer.bias
    optimizer_state = network.optimizer.state_dict()
    order = network._file_order()
    for index, slot in enumerate(optimizer_state["slots"]):
        for name, array in slot.items():
            tensors[f"optimizer.{index}.{name}"] = array[order]
    history = {name: list(map(float, values)) for name, values in vars(network.history).items()}
    state = {
        "optimizer_iterations": optimizer_state["iterations"],
        "optimizer_slots": len(optimizer_state["slots"]),
        "rng": _rng_state(network.rng),
        "history": history,
    }
    try:
        metadata = json.loads(json.dumps(network.metadata, allow_nan=False))
    except (TypeError, ValueError) as error:
        raise ValueError(f"network.metadata must be plain JSON data (dicts, lists, strings, numbers): {error}") from None
    if not isinstance(metadata, dict):
        raise ValueError(f"network.metadata must be a dict, got {type(network.metadata).__name__}")
    return {"network": network.get_config(), "state": state, "metadata": metadata}, tensors


def _header(kind: str) -> dict:
    from . import __version__

    return {"format_version": FORMAT_VERSION, "glassnet_version": __version__, "kind": kind}


def _label_document(classes: np.ndarray) -> dict:
    classes = np.asarray(classes)
    if classes.dtype.kind in "biuf" and classes.dtype.name in _LABEL_DTYPES:
        return {"dtype": classes.dtype.name, "values": classes.tolist()}
    if classes.dtype.kind == "U" or (classes.dtype.kind == "O" and all(isinstance(c, str) for c in classes)):
        return {"dtype": "object" if classes.dtype.kind == "O" else "str", "values": [str(c) for c in classes]}
    raise ValueError(f"cannot save class labels of dtype {classes.dtype}; use integers or strings")


def _json_param(value):
    if isinstance(value, (activations.Activation,)):
        return value.get_config()
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, np.dtype):
        return str(value)
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    return value


def save(model, path: str | os.PathLike) -> None:
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
    document, tensors = _model_document(model)
    _atomic_write(path, _serialise(document, tensors))


def _model_document(model) -> tuple[dict, dict[str, np.ndarray]]:
    from_estimator = type(model).__name__ in ("NeuralNetworkClassifier", "NeuralNetworkRegressor")
    if isinstance(model, NeuralNetwork):
        if not model.layers:
            raise ValueError("cannot save a network without layers")
        body, tensors = _network_document(model)
        return {**_header("NeuralNetwork"), **body}, tensors
    if from_estimator and type(model).__module__ == "glassnet.estimators":
        if not hasattr(model, "network_"):
            raise ValueError(f"this {type(model).__name__} is not fitted yet; call fit before saving it")
        body, tensors = _network_document(model.network_)
        params = {name: _json_param(value) for name, value in model.get_params().items()}
        if not (params["random_state"] is None or isinstance(params["random_state"], int)):
            params["random_state"] = None  # a generator object cannot be written; the state is in the network
        estimator = {
            "params": params,
            "n_features_in": int(model.n_features_in_),
            "feature_names_in": None if not hasattr(model, "feature_names_in_") else [str(n) for n in model.feature_names_in_],
        }
        if hasattr(model, "classes_"):
            estimator["classes"] = _label_document(model.classes_)
        else:
            estimator["n_outputs"] = int(model.n_outputs_)
        json.dumps(estimator)  # fail here, not half-way through writing
        return {**_header(type(model).__name__), **body, "estimator": estimator}, tensors
    raise TypeError(f"save expects a NeuralNetwork or a glassnet estimator, got {type(model).__name__}")


class _CheckpointWriter:
    """Writes training checkpoints for :func:`glassnet.training.train`."""

    def __init__(self, path: str | os.PathLike, x: np.ndarray, targets: np.ndarray, weights: np.ndarray | None):
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"checkpoint must be a path, got {type(path).__name__} {path!r}")
        self.path = os.path.abspath(os.fspath(path))
        folder = os.path.dirname(self.path)
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"checkpoint folder {folder} does not exist")
        if os.path.isdir(self.path):
            raise IsADirectoryError(f"checkpoint {self.path} is a folder; give a file name")
        _safetensors_numpy()
        digest = hashlib.sha256()
        for array in (x, targets, weights):
            if array is not None:
                digest.update(f"{array.dtype.str}{array.shape}".encode())
                digest.update(np.ascontiguousarray(array).tobytes())
        self.fingerprint = digest.hexdigest()

    def save(self, network: NeuralNetwork, run: dict, order: np.ndarray | None, early_stopping: EarlyStopping | None) -> None:
        body, tensors = _network_document(network)
        training = dict(run)
        training["total"] = float(run.get("total", 0.0))
        if order is not None:
            tensors["training.order"] = np.asarray(order, dtype=np.int64)
        if early_stopping is not None:
            training["early_stopping"] = {
                "monitor": early_stopping.monitor,
                "patience": early_stopping.patience,
                "min_delta": early_stopping.min_delta,
                "restore_best": early_stopping.restore_best,
                "best": early_stopping.best,
                "best_epoch": early_stopping.best_epoch,
                "wait": early_stopping.wait,
                "stopped": early_stopping.stopped,
            }
            if early_stopping.best_parameters is not None:
                tensors["early_stopping.best_parameters"] = early_stopping.best_parameters[network._file_order()]
        document = {**_header("NeuralNetwork"), **body, "training": training}
        _atomic_write(self.path, _serialise(document, tensors))


# ====================================================================== reading
def _fail(message: str) -> ModelFileError:
    return ModelFileError(message)


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise _fail(message)


def _int(value, what: str, minimum: int = 0, maximum: int = 2**62) -> int:
    _expect(isinstance(value, int) and not isinstance(value, bool), f"{what} must be an integer, got {value!r:.80}")
    _expect(minimum <= value <= maximum, f"{what} must be in [{minimum}, {maximum}], got {value}")
    return value


def _read_header(handle, size: int) -> tuple[bytes, dict, int]:
    _expect(size >= 8, f"the file has {size} bytes: too short to be a model file")
    prefix = handle.read(8)
    header_size = int.from_bytes(prefix, "little")
    _expect(
        header_size <= MAX_HEADER_BYTES,
        f"the header claims {header_size} bytes, more than the {MAX_HEADER_BYTES} allowed",
    )
    _expect(header_size <= size - 8, f"the header claims {header_size} bytes but the file has only {size - 8} after its size field: truncated?")
    raw = handle.read(header_size)
    _expect(len(raw) == header_size, "the file ended inside its header: truncated")
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise _fail(f"the header is not valid JSON ({type(error).__name__}); not a safetensors file?") from None
    _expect(isinstance(header, dict), "the header is not a JSON object; not a safetensors file")
    return prefix + raw, header, 8 + header_size


def _tensor_specs(header: dict, data_size: int) -> dict[str, tuple[np.dtype, tuple[int, ...]]]:
    """Check every tensor entry of a safetensors header; return name → (dtype, shape)."""
    specs: dict[str, tuple[np.dtype, tuple[int, ...]]] = {}
    spans = []
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        _expect(isinstance(entry, dict) and set(entry) == {"dtype", "shape", "data_offsets"}, f"tensor {name!r:.80}: malformed entry")
        dtype = _DTYPES.get(entry["dtype"]) if isinstance(entry["dtype"], str) else None
        _expect(dtype is not None, f"tensor {name!r:.80}: dtype {entry['dtype']!r:.40} is not one glassnet writes (F64, F32, I64)")
        shape = entry["shape"]
        _expect(isinstance(shape, list) and len(shape) <= 4, f"tensor {name!r:.80}: malformed shape")
        shape = tuple(_int(n, f"tensor {name!r:.80} shape", 0, 2**40) for n in shape)
        offsets = entry["data_offsets"]
        _expect(isinstance(offsets, list) and len(offsets) == 2, f"tensor {name!r:.80}: malformed data_offsets")
        begin, end = (_int(n, f"tensor {name!r:.80} offset", 0, data_size) for n in offsets)
        _expect(end - begin == math.prod(shape) * dtype.itemsize, f"tensor {name!r:.80}: its offsets do not match its shape and dtype")
        specs[name] = (dtype, shape)
        spans.append((begin, end))
    spans.sort()
    position = 0
    for begin, end in spans:
        _expect(begin == position, "the tensors do not tile the data section (gap or overlap)")
        position = end
    _expect(position == data_size, f"the data section has {data_size} bytes but the tensors cover {position}: truncated or padded file")
    return specs


def _read_file(path: str | os.PathLike) -> tuple[dict, dict[str, np.ndarray]]:
    """Read and verify a model file; return (document, tensors)."""
    path = os.fspath(path)
    try:
        return _read_verified(path)
    except ModelFileError as error:
        raise ModelFileError(f"{path} is not a valid glassnet model file: {error}") from None
    except OSError:
        raise
    except Exception as error:  # anything unforeseen in a hostile file is still a file error
        raise ModelFileError(f"{path} is not a valid glassnet model file ({type(error).__name__}: {error})") from None


def _read_verified(path: str) -> tuple[dict, dict[str, np.ndarray]]:
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        head, header, data_start = _read_header(handle, size)
        metadata = header.get("__metadata__")
        _expect(isinstance(metadata, dict) and "glassnet" in metadata, "not a glassnet model file: its metadata has no 'glassnet' entry")
        _expect(all(isinstance(v, str) for v in metadata.values()), "malformed metadata: values must be strings")
        try:
            document = json.loads(metadata["glassnet"])
        except (ValueError, RecursionError) as error:
            raise _fail(f"the glassnet metadata is not valid JSON ({type(error).__name__})") from None
        _expect(isinstance(document, dict), "the glassnet metadata is not a JSON object")
        _check_versions(document)
        specs = _tensor_specs(header, size - data_start)
        _check_tensor_specs(document, specs)
        body = handle.read()
    _expect(len(body) == size - data_start, "the file changed size while it was read")
    try:
        tensors = _safetensors_numpy().load(head + body)
    except Exception as error:  # the library's own parser has the last word
        raise _fail(f"safetensors could not read the file: {error}") from None
    _expect(set(tensors) == set(specs), "the tensors read differ from the header")
    expected = metadata.get("glassnet_sha256")
    _expect(isinstance(expected, str), "the file has no checksum ('glassnet_sha256')")
    _expect(_checksum(metadata["glassnet"], tensors) == expected, "checksum mismatch: the file was altered or damaged")
    _warn_if_other_version(document)
    return document, tensors


def _check_versions(document: dict) -> None:
    version = document.get("format_version")
    _int(version, "format_version", 1)
    if version > FORMAT_VERSION:
        raise _fail(
            f"this model file has format version {version}, newer than the {FORMAT_VERSION} this "
            "glassnet reads; upgrade glassnet to open it"
        )
    _expect(document.get("kind") in _KINDS, f"unknown model kind {document.get('kind')!r:.80}")
    saved_with = document.get("glassnet_version")
    _expect(isinstance(saved_with, str) and len(saved_with) < 64, "malformed glassnet_version")


def _warn_if_other_version(document: dict) -> None:
    from . import __version__

    if document["glassnet_version"] != __version__:
        warnings.warn(
            f"this model was saved by glassnet {document['glassnet_version']} and is loaded by "
            f"glassnet {__version__}",
            UserWarning,
            stacklevel=4,
        )


def _network_config(document: dict) -> tuple[dict, np.dtype]:
    config = document.get("network")
    _expect(isinstance(config, dict), "the file has no 'network' configuration")
    _expect(
        set(config) == {"layers", "loss", "optimizer", "l2", "task", "dtype"},
        f"the network configuration has unexpected keys {sorted(config)!r:.200}",
    )
    layers = config["layers"]
    _expect(isinstance(layers, list) and 1 <= len(layers) <= _MAX_LAYERS, "the configuration needs a list of layers")
    previous = None
    for index, layer in enumerate(layers):
        _expect(
            isinstance(layer, dict) and set(layer) == {"n_inputs", "n_outputs", "activation", "weight_init"},
            f"layers[{index}] is malformed",
        )
        n_inputs = _int(layer["n_inputs"], f"layers[{index}].n_inputs", 1, 2**31)
        _int(layer["n_outputs"], f"layers[{index}].n_outputs", 1, 2**31)
        _expect(previous is None or previous == n_inputs, f"layers[{index}].n_inputs={n_inputs} does not match the previous layer's outputs ({previous})")
        previous = layer["n_outputs"]
    try:
        dtype = check_dtype(config["dtype"])
    except (TypeError, ValueError) as error:
        raise _fail(f"network dtype: {error}") from None
    return config, dtype


def _expected_tensors(document: dict) -> dict[str, tuple[np.dtype, tuple[int, ...]]]:
    config, dtype = _network_config(document)
    dtype = dtype.newbyteorder("<")
    expected = {}
    n_params = 0
    for index, layer in enumerate(config["layers"]):
        expected[f"layers.{index}.weights"] = (dtype, (layer["n_inputs"], layer["n_outputs"]))
        expected[f"layers.{index}.bias"] = (dtype, (layer["n_outputs"],))
        n_params += layer["n_inputs"] * layer["n_outputs"] + layer["n_outputs"]
    state = document.get("state")
    _expect(isinstance(state, dict), "the file has no 'state' section")
    optimizer = config["optimizer"]
    _expect(isinstance(optimizer, dict) and isinstance(optimizer.get("name"), str), "malformed optimizer configuration")
    slots = _optimizer_slots(optimizer)
    n_slot_groups = _int(state.get("optimizer_slots"), "state.optimizer_slots", 0, 1)
    for group in range(n_slot_groups):
        for name in slots:
            expected[f"optimizer.{group}.{name}"] = (dtype, (n_params,))
    training = document.get("training")
    if training is not None:
        _expect(isinstance(training, dict), "malformed training section")
        if isinstance(training.get("early_stopping"), dict) and training["early_stopping"].get("restore_best") and training["early_stopping"].get("best") is not None:
            expected["early_stopping.best_parameters"] = (dtype, (n_params,))
        if training.get("batch"):
            if training.get("shuffle"):
                expected["training.order"] = (np.dtype("<i8"), None)  # length checked against the data on resume
    return expected


def _optimizer_slots(config: dict) -> tuple[str, ...]:
    try:
        optimizer = optimizers.get(dict(config), "optimizer")
    except (TypeError, ValueError) as error:
        raise _fail(f"optimizer: {error}") from None
    return optimizer.slot_names


def _check_tensor_specs(document: dict, specs: dict) -> None:
    expected = _expected_tensors(document)
    missing = sorted(set(expected) - set(specs))
    extra = sorted(set(specs) - set(expected))
    _expect(not missing, f"the file lacks the tensors {missing[:5]!r:.200}")
    _expect(not extra, f"the file has unexpected tensors {extra[:5]!r:.200}")
    for name, (dtype, shape) in expected.items():
        found_dtype, found_shape = specs[name]
        _expect(found_dtype == dtype, f"tensor {name!r} has dtype {found_dtype}, the configuration says {dtype}")
        if shape is None:
            _expect(len(found_shape) == 1, f"tensor {name!r} must be 1-D")
        else:
            _expect(found_shape == shape, f"tensor {name!r} has shape {found_shape}, the configuration says {shape}")


def _finite(name: str, array: np.ndarray) -> np.ndarray:
    _expect(bool(np.isfinite(array).all()), f"tensor {name!r} contains NaN or infinity")
    return array


def _build_network(document: dict, tensors: dict[str, np.ndarray]) -> NeuralNetwork:
    config, dtype = _network_config(document)
    state = document["state"]
    try:
        loss = losses.get(config["loss"], "loss") if isinstance(config["loss"], dict) else None
        _expect(loss is not None, "malformed loss configuration")
        optimizer = optimizers.get(dict(config["optimizer"]), "optimizer")
        _expect(config["task"] is None or config["task"] in TASKS, f"unknown task {config['task']!r:.40}")
        _expect(isinstance(config["l2"], (int, float)) and not isinstance(config["l2"], bool), "l2 must be a number")
        network = NeuralNetwork(loss=loss, optimizer=optimizer, l2=config["l2"], task=config["task"], dtype=dtype)
        for index, layer_config in enumerate(config["layers"]):
            _expect(isinstance(layer_config["activation"], dict), f"layers[{index}].activation is malformed")
            activation = activations.get(dict(layer_config["activation"]), f"layers[{index}].activation")
            _expect(isinstance(layer_config["weight_init"], str), f"layers[{index}].weight_init is malformed")
            initializers.get(layer_config["weight_init"], f"layers[{index}].weight_init")
            layer = Layer(layer_config["n_inputs"], layer_config["n_outputs"], activation, layer_config["weight_init"])
            layer.weights = _finite(f"layers.{index}.weights", tensors[f"layers.{index}.weights"])
            layer.bias = _finite(f"layers.{index}.bias", tensors[f"layers.{index}.bias"])
            network.add_layer(layer)
        network._check_loss_pairing()
        slots = [
            {
                name: _from_file_order(network, _finite(f"optimizer.{group}.{name}", tensors[f"optimizer.{group}.{name}"]))
                for name in optimizer.slot_names
            }
            for group in range(state["optimizer_slots"])
        ]
        iterations = _int(state.get("optimizer_iterations"), "state.optimizer_iterations", 0)
        network.optimizer.load_state_dict({"iterations": iterations, "slots": slots}, network._param_list)
        network.rng = _build_rng(state.get("rng"))
        network.history = _build_history(state.get("history"))
        metadata = document.get("metadata", {})
        _expect(isinstance(metadata, dict), "malformed metadata section")
        network.metadata = metadata
    except ModelFileError:
        raise
    except (TypeError, ValueError, KeyError) as error:
        raise _fail(f"invalid model configuration: {error}") from None
    return network


def _build_rng(state) -> np.random.Generator:
    _expect(isinstance(state, dict) and state.get("bit_generator") in _BIT_GENERATORS, "malformed random generator state")
    bit_generator = getattr(np.random, state["bit_generator"])()
    try:
        bit_generator.state = state
    except (TypeError, ValueError, KeyError, OverflowError) as error:
        raise _fail(f"malformed random generator state: {error}") from None
    return np.random.Generator(bit_generator)


def _build_history(data) -> History:
    _expect(isinstance(data, dict), "malformed history")
    fields = set(vars(History()))
    _expect(set(data) <= fields, f"unknown history fields {sorted(set(data) - fields)!r:.100}")
    series = {}
    for name, values in data.items():
        _expect(
            isinstance(values, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values),
            f"history {name!r} must be a list of numbers",
        )
        series[name] = [float(v) for v in values]
    return History(**series)


def _build_labels(data) -> np.ndarray:
    _expect(isinstance(data, dict) and isinstance(data.get("values"), list), "malformed classes")
    dtype = data.get("dtype")
    values = data["values"]
    _expect(2 <= len(values) <= 2**24, "classes must list at least 2 labels")
    if dtype in ("str", "object"):
        _expect(all(isinstance(v, str) for v in values), "string classes must be strings")
        labels = np.array(values, dtype=object if dtype == "object" else str)
    else:
        _expect(dtype in _LABEL_DTYPES, f"unsupported class dtype {dtype!r:.40}")
        _expect(all(isinstance(v, (int, float, bool)) for v in values), "numeric classes must be numbers")
        try:
            labels = np.array(values, dtype=dtype)
        except (OverflowError, ValueError, TypeError) as error:
            raise _fail(f"malformed classes: {error}") from None
    _expect(len(np.unique(labels)) == len(labels) and bool(np.all(labels[:-1] < labels[1:])), "classes must be sorted and distinct")
    return labels


def _build_estimator(document: dict, network: NeuralNetwork):
    from . import estimators

    data = document.get("estimator")
    _expect(isinstance(data, dict) and isinstance(data.get("params"), dict), "malformed estimator section")
    cls = getattr(estimators, document["kind"])
    params = dict(data["params"])
    if isinstance(params.get("hidden_layer_sizes"), list):
        params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
    if isinstance(params.get("activation"), dict):
        params["activation"] = activations.get(params["activation"])
    try:
        estimator = cls(**params)
        estimator._checked_params()
    except (TypeError, ValueError) as error:
        raise _fail(f"invalid estimator parameters: {error}") from None
    n_features = _int(data.get("n_features_in"), "n_features_in", 1, 2**31)
    _expect(n_features == network.n_inputs, "n_features_in does not match the network")
    estimator.n_features_in_ = n_features
    names = data.get("feature_names_in")
    if names is not None:
        _expect(isinstance(names, list) and len(names) == n_features and all(isinstance(n, str) for n in names), "malformed feature_names_in")
        estimator.feature_names_in_ = np.array(names, dtype=object)
    if document["kind"] == "NeuralNetworkClassifier":
        estimator.classes_ = _build_labels(data.get("classes"))
        n_classes = len(estimator.classes_)
        _expect(network.n_outputs == (1 if n_classes == 2 and network.loss.name == "binary_cross_entropy" else n_classes), "classes do not match the network's outputs")
        _expect(network.task == "classification", "a classifier's network must do classification")
    else:
        estimator.n_outputs_ = _int(data.get("n_outputs"), "n_outputs", 1, 2**31)
        _expect(estimator.n_outputs_ == network.n_outputs, "n_outputs does not match the network")
        _expect(network.task == "regression", "a regressor's network must do regression")
    estimator.network_ = network
    estimator._store_results(None)
    return estimator


def load(path: str | os.PathLike):
    """Load what :func:`save` wrote (a network or an estimator); checkpoints load as networks.

    Raises
    ------
    ModelFileError
        For any file that is not a valid glassnet model file: malformed, truncated, altered,
        hostile, from a newer format version, or something else entirely.
    FileNotFoundError, IsADirectoryError, PermissionError
        When ``path`` itself cannot be opened.
    """
    document, tensors = _read_file(path)
    try:
        network = _build_network(document, tensors)
        if document["kind"] == "NeuralNetwork":
            return network
        return _build_estimator(document, network)
    except ModelFileError as error:
        raise ModelFileError(f"{os.fspath(path)} is not a valid glassnet model file: {error}") from None
    except Exception as error:  # anything unforeseen in a hostile file is still a file error
        raise ModelFileError(f"{os.fspath(path)} is not a valid glassnet model file ({type(error).__name__}: {error})") from None


# ====================================================================== resuming
def resume(
    path: str | os.PathLike,
    x,
    y,
    *,
    validation_data: tuple | None = None,
    sample_weight=None,
    verbose: int = 0,
    callbacks: Sequence = (),
    checkpoint: str | os.PathLike | None = None,
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
    document, tensors = _read_file(path)
    training = document.get("training")
    if not isinstance(training, dict):
        raise ModelFileError(f"{os.fspath(path)} is a model file, not a checkpoint: it has no training state")
    network = _build_network(document, tensors)
    try:
        run = {
            "target_epochs": _int(training.get("target_epochs"), "training.target_epochs", 0),
            "epoch": _int(training.get("epoch"), "training.epoch", 0),
            "batch": _int(training.get("batch"), "training.batch", 0),
            "shuffle": training.get("shuffle"),
            "batch_size": training.get("batch_size"),
            "checkpoint_every": _int(training.get("checkpoint_every"), "training.checkpoint_every", 1),
            "fingerprint": training.get("fingerprint"),
            "total": float(training.get("total", 0.0)),
        }
        _expect(isinstance(run["shuffle"], bool), "training.shuffle must be a bool")
        _expect(run["batch_size"] is None or (isinstance(run["batch_size"], int) and run["batch_size"] >= 1), "malformed training.batch_size")
        _expect(run["epoch"] == network.history.epochs, "the checkpoint's epoch does not match its history")
        early = _build_early_stopping(training.get("early_stopping"), tensors, network)
    except ModelFileError:
        raise
    except (TypeError, ValueError, KeyError) as error:
        raise _fail(f"malformed training state: {error!r}") from None
    if training.get("finished") or run["epoch"] >= run["target_epochs"]:
        return network
    if bool(training.get("validation")) and validation_data is None:
        raise ValueError("this run was validated on validation_data after every epoch; pass the same validation_data to resume it")
    resume_state = {"target_epochs": run["target_epochs"], "fingerprint": run["fingerprint"]}
    if run["batch"]:
        order = tensors.get("training.order")
        resume_state.update(batch=run["batch"], total=run["total"], order=None if order is None else order.astype(np.intp))
    network.train(
        x, y, epochs=max(run["target_epochs"] - run["epoch"], 1), batch_size=run["batch_size"], shuffle=run["shuffle"],
        validation_data=validation_data, verbose=verbose, sample_weight=sample_weight, early_stopping=early,
        callbacks=callbacks, checkpoint=path if checkpoint is None else checkpoint,
        checkpoint_every=run["checkpoint_every"], _resume=resume_state,
    )
    return network


def _from_file_order(network: NeuralNetwork, flat: np.ndarray) -> np.ndarray:
    """A flat vector read from a file (weights of every layer, then biases) in memory's layout."""
    result = np.empty_like(flat)
    result[network._file_order()] = flat
    return result


def _build_early_stopping(data, tensors, network) -> EarlyStopping | None:
    if data is None:
        return None
    _expect(isinstance(data, dict), "malformed early_stopping state")
    early = EarlyStopping(data["monitor"], data["patience"], data["min_delta"], data["restore_best"])
    best = data.get("best")
    _expect(best is None or isinstance(best, (int, float)), "malformed early_stopping.best")
    early.best = best
    early.best_epoch = None if data.get("best_epoch") is None else _int(data["best_epoch"], "early_stopping.best_epoch")
    early.wait = _int(data.get("wait"), "early_stopping.wait")
    early.stopped = bool(data.get("stopped"))
    if "early_stopping.best_parameters" in tensors:
        early.best_parameters = _from_file_order(network, tensors["early_stopping.best_parameters"])
    return early
