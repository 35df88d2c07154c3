"""The model file container: safetensors tensors plus a JSON document, checked strictly.

A model file is one `safetensors <https://github.com/huggingface/safetensors>`_ file. Its metadata
holds, under the key ``"glassnet"``, a JSON document (what it describes is
:mod:`glassnet.files.document`'s business) and under ``"glassnet_sha256"`` a checksum of that
document and every tensor. This module knows nothing about networks: it turns a document and
named arrays into bytes and back.

Nothing here uses pickle. Reading is strict: the header is parsed and checked (size, structure,
dtypes, shapes and offsets, and, through the caller's check, against the document) before any
tensor is read, the checksum must match, and every failure on a malformed, truncated, hostile or
foreign file is a :class:`ModelFileError` (a ``ValueError``). A device, a FIFO or a socket is
refused before a byte is read.

Writing is :mod:`glassnet.files.atomic`'s business (:func:`~glassnet.files.atomic.atomic_write`,
re-exported here with :func:`check_save_target` and :func:`display_path`).
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import os
import stat
import warnings
from collections.abc import Callable
from typing import IO, Any

import numpy as np

from .._version import __version__
from .atomic import PathArgument, atomic_write, check_save_target, display_path, node_kind

__all__ = [
    "FORMAT_VERSION",
    "KINDS",
    "SNAPSHOTS_KIND",
    "ModelFileError",
    "atomic_write",
    "check_save_target",
    "display_path",
    "expect",
    "header",
    "read_dict",
    "read_document",
    "read_int",
    "require_safetensors",
    "serialise",
]

#: the version of the file layout this glassnet writes; it reads this one and older ones
FORMAT_VERSION = 1
#: the largest header (JSON) accepted, in bytes
MAX_HEADER_BYTES = 64 * 2**20
_DTYPES: dict[str, np.dtype] = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "I64": np.dtype("<i8"),
}
#: what a model file can hold
KINDS = ("NeuralNetwork", "NeuralNetworkClassifier", "NeuralNetworkRegressor")
#: what other glassnet files in the same container hold (read with ``kinds=``, never as models)
SNAPSHOTS_KIND = "ParameterSnapshots"

TensorSpecs = dict[str, tuple[np.dtype, tuple[int, ...]]]


class ModelFileError(ValueError):
    """A model file is malformed, truncated, altered, hostile, or not a glassnet model file."""


def _safetensors_numpy() -> Any:
    try:
        import safetensors.numpy
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "glassnet model files need the 'safetensors' package: pip install 'glassnet[io]'"
        ) from None
    return safetensors.numpy


def _checksum(document: str, tensors: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256(document.encode("utf-8"))
    for name in sorted(tensors):
        array = np.ascontiguousarray(tensors[name])
        digest.update(f"\0{name}\0{array.dtype.str}\0{array.shape}\0".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def serialise(document: dict, tensors: dict[str, np.ndarray]) -> bytes:
    """The bytes of a model file holding ``document`` (JSON) and ``tensors``."""
    text = json.dumps(document, separators=(",", ":"), allow_nan=True)
    tensors = {name: np.ascontiguousarray(array) for name, array in tensors.items()}
    metadata = {"glassnet": text, "glassnet_sha256": _checksum(text, tensors)}
    return _safetensors_numpy().save(tensors, metadata=metadata)


def expect(condition: bool, message: str) -> None:
    """Raise a :class:`ModelFileError` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise ModelFileError(message)


def read_dict(value: object, message: str) -> dict[str, Any]:
    """``value`` if it is a JSON object, else a :class:`ModelFileError` with ``message``."""
    if not isinstance(value, dict):
        raise ModelFileError(message)
    return value


def read_int(value: object, what: str, minimum: int = 0, maximum: int = 2**62) -> int:
    """``value`` if it is an integer in ``[minimum, maximum]``, else a :class:`ModelFileError`."""
    is_int = isinstance(value, int) and not isinstance(value, bool)
    expect(is_int, f"{what} must be an integer, got {value!r:.80}")
    expect(minimum <= value <= maximum, f"{what} must be in [{minimum}, {maximum}], got {value}")  # type: ignore[operator]
    return value  # type: ignore[return-value]


def _read_header(handle: IO[bytes], size: int) -> tuple[bytes, dict, int]:
    expect(size >= 8, f"the file has {size} bytes: too short to be a model file")
    prefix = handle.read(8)
    header_size = int.from_bytes(prefix, "little")
    expect(
        header_size <= MAX_HEADER_BYTES,
        f"the header claims {header_size} bytes, more than the {MAX_HEADER_BYTES} allowed",
    )
    expect(
        header_size <= size - 8,
        f"the header claims {header_size} bytes but the file has only {size - 8} after its "
        "size field: truncated?",
    )
    raw = handle.read(header_size)
    expect(len(raw) == header_size, "the file ended inside its header: truncated")
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ModelFileError(
            f"the header is not valid JSON ({type(error).__name__}); not a safetensors file?"
        ) from None
    expect(isinstance(header, dict), "the header is not a JSON object; not a safetensors file")
    return prefix + raw, header, 8 + header_size


def _tensor_specs(header: dict, data_size: int) -> TensorSpecs:
    """Check every tensor entry of a safetensors header; return name → (dtype, shape)."""
    specs: TensorSpecs = {}
    spans = []
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        label = f"tensor {name!r:.80}"
        keys = {"dtype", "shape", "data_offsets"}
        entry = read_dict(entry, f"{label}: malformed entry")
        expect(set(entry) == keys, f"{label}: malformed entry")
        dtype = _DTYPES.get(entry["dtype"]) if isinstance(entry["dtype"], str) else None
        if dtype is None:
            raise ModelFileError(
                f"{label}: dtype {entry['dtype']!r:.40} is not one glassnet writes (F64, F32, I64)"
            )
        shape = entry["shape"]
        expect(isinstance(shape, list) and len(shape) <= 4, f"{label}: malformed shape")
        shape = tuple(read_int(n, f"{label} shape", 0, 2**40) for n in shape)
        offsets = entry["data_offsets"]
        expect(isinstance(offsets, list) and len(offsets) == 2, f"{label}: malformed data_offsets")
        begin, end = (read_int(n, f"{label} offset", 0) for n in offsets)
        expect(
            end <= data_size,
            f"{label} ends at byte {end} of the data section, which has only {data_size}: "
            "truncated?",
        )
        expect(
            end - begin == math.prod(shape) * dtype.itemsize,
            f"{label}: its offsets do not match its shape and dtype",
        )
        specs[name] = (dtype, shape)
        spans.append((begin, end))
    spans.sort()
    position = 0
    for begin, end in spans:
        expect(begin == position, "the tensors do not tile the data section (gap or overlap)")
        position = end
    expect(
        position == data_size,
        f"the data section has {data_size} bytes but the tensors cover {position}: "
        "truncated or padded file",
    )
    return specs


def read_document(
    path: PathArgument,
    check: Callable[[dict, TensorSpecs], None] | None = None,
    kinds: tuple[str, ...] = KINDS,
) -> tuple[dict, dict[str, np.ndarray]]:
    """Read and verify a model file; return ``(document, tensors)``.

    ``kinds`` are the document kinds accepted (model files by default; the parameter snapshots of
    a run are read with ``(SNAPSHOTS_KIND,)``).

    ``check(document, specs)`` sees the document and every tensor's dtype and shape before any
    tensor is read, and raises :class:`ModelFileError` for what does not fit.

    Raises
    ------
    ModelFileError
        Naming ``path``, for anything that is not a valid glassnet model file, including a
        device, a FIFO or a socket (refused at once, never read from).
    IsADirectoryError
        When ``path`` is a folder.
    OSError
        When ``path`` itself cannot be opened.
    """
    shown = display_path(path)
    try:
        return _read_verified(shown, check, kinds)
    except ModelFileError as error:
        raise ModelFileError(f"{shown} is not a valid glassnet model file: {error}") from None
    except OSError:
        raise
    except Exception as error:  # anything unforeseen in a hostile file is still a file error
        raise ModelFileError(
            f"{shown} is not a valid glassnet model file ({type(error).__name__}: {error})"
        ) from None


def _check_regular(path: str, mode: int) -> None:
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, f"cannot read {path}: it is a folder, not a file")
    if not stat.S_ISREG(mode):
        raise ModelFileError(f"it is {node_kind(mode)}, not a regular file")


def _open_regular(path: str) -> IO[bytes]:
    """``path`` opened for reading, if it is a regular file; a FIFO, device or socket is refused
    without waiting on it (checked before opening, and again on what was opened)."""
    _check_regular(path, os.stat(path).st_mode)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        _check_regular(path, os.fstat(fd).st_mode)  # it may have been swapped since
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def _document_int(digits: str) -> int:
    """An integer of the document; none that glassnet writes is beyond a float's range (a
    random generator's state has at most 39 digits), and a bigger one would overflow where a
    float is made of it."""
    expect(
        len(digits.lstrip("-")) <= 308,
        f"the document holds an integer of {len(digits.lstrip('-'))} digits, beyond any float",
    )
    return int(digits)


def _read_verified(
    path: str, check: Callable[[dict, TensorSpecs], None] | None, kinds: tuple[str, ...] = KINDS
) -> tuple[dict, dict[str, np.ndarray]]:
    with _open_regular(path) as handle:
        size = os.fstat(handle.fileno()).st_size
        head, header, data_start = _read_header(handle, size)
        missing = "not a glassnet model file: its metadata has no 'glassnet' entry"
        metadata = read_dict(header.get("__metadata__"), missing)
        expect("glassnet" in metadata, missing)
        expect(
            all(isinstance(v, str) for v in metadata.values()),
            "malformed metadata: values must be strings",
        )
        try:
            document = json.loads(metadata["glassnet"], parse_int=_document_int)
        except ModelFileError:
            raise
        except (ValueError, RecursionError) as error:
            raise ModelFileError(
                f"the glassnet metadata is not valid JSON ({type(error).__name__})"
            ) from None
        document = read_dict(document, "the glassnet metadata is not a JSON object")
        _check_versions(document, kinds)
        specs = _tensor_specs(header, size - data_start)
        if check is not None:
            check(document, specs)
        body = handle.read(size - data_start + 1)
    expect(len(body) == size - data_start, "the file changed size while it was read")
    try:
        tensors = _safetensors_numpy().load(head + body)
    except Exception as error:  # the library's own parser has the last word
        raise ModelFileError(f"safetensors could not read the file: {error}") from None
    expect(set(tensors) == set(specs), "the tensors read differ from the header")
    expected = metadata.get("glassnet_sha256")
    expect(isinstance(expected, str), "the file has no checksum ('glassnet_sha256')")
    expect(
        _checksum(metadata["glassnet"], tensors) == expected,
        "checksum mismatch: the file was altered or damaged",
    )
    _warn_if_other_version(document)
    return document, tensors


def _check_versions(document: dict, kinds: tuple[str, ...] = KINDS) -> None:
    version = document.get("format_version")
    read_int(version, "format_version", 1)
    if version > FORMAT_VERSION:  # type: ignore[operator]
        raise ModelFileError(
            f"this model file has format version {version}, newer than the {FORMAT_VERSION} this "
            "glassnet reads; upgrade glassnet to open it"
        )
    kind = document.get("kind")
    if kind not in kinds and kind in (*KINDS, SNAPSHOTS_KIND):
        raise ModelFileError(f"it holds {kind}, not {' or '.join(kinds)}")
    expect(kind in kinds, f"unknown model kind {kind!r:.80}")
    saved_with = document.get("glassnet_version")
    expect(isinstance(saved_with, str) and len(saved_with) < 64, "malformed glassnet_version")


def _warn_if_other_version(document: dict) -> None:
    if document["glassnet_version"] != __version__:
        warnings.warn(
            f"this model was saved by glassnet {document['glassnet_version']} and is loaded by "
            f"glassnet {__version__}",
            UserWarning,
            stacklevel=4,
        )


def header(kind: str) -> dict:
    """The entries every document starts with: the format version, glassnet's, and the kind."""
    return {"format_version": FORMAT_VERSION, "glassnet_version": __version__, "kind": kind}


def require_safetensors() -> None:
    """Raise ``ImportError`` now if the safetensors package is missing (before any work)."""
    _safetensors_numpy()
