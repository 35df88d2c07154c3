"""A run's parameter snapshots on disk: ``snapshots.safetensors``.

The flat parameter vectors a :class:`~glassnet.training.monitor.Monitor` copied at chosen epochs,
in the same checked container as model files (:mod:`.container`: a JSON document, a checksum,
no pickle), under their own kind so that a snapshots file is never taken for a model.

The document names the epochs and the layer sizes; the one tensor ``parameters`` has a row per
epoch, each the network's flat vector in memory's layout (layer after layer, each layer's
``(n_inputs + 1, n_outputs)`` block: its weights row by row, then its bias).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np

from . import container
from .atomic import PathArgument, atomic_write

__all__ = ["read_snapshots", "write_snapshots"]

#: the name a run folder keeps them under
FILE_NAME = "snapshots.safetensors"


def write_snapshots(
    path: PathArgument, snapshots: Mapping[int, np.ndarray], sizes: Sequence[int]
) -> None:
    """Write ``snapshots`` (epoch → flat parameter vector) of a network of layer ``sizes``
    (inputs first, e.g. ``[2, 25, 2]``) to ``path``, atomically; vectors are kept in float64.

    Raises
    ------
    ValueError
        When there are no snapshots, or a vector's length does not fit ``sizes``.
    """
    if not snapshots:
        raise ValueError("write_snapshots needs at least one snapshot, got none")
    size = _parameter_count(sizes)
    epochs = sorted(int(epoch) for epoch in snapshots)
    rows = [np.asarray(snapshots[epoch], dtype=np.float64).ravel() for epoch in epochs]
    for epoch, row in zip(epochs, rows):
        if row.size != size:
            raise ValueError(
                f"the snapshot of epoch {epoch} has {row.size} parameters; a network of sizes "
                f"{list(sizes)} has {size}"
            )
    document = {
        **container.header(container.SNAPSHOTS_KIND),
        "epochs": epochs,
        "sizes": [int(n) for n in sizes],
    }
    atomic_write(path, container.serialise(document, {"parameters": np.stack(rows)}))


def read_snapshots(path: PathArgument) -> tuple[list[int], list[int], np.ndarray]:
    """Read what :func:`write_snapshots` wrote → ``(epochs, sizes, parameters)``, the last of
    shape ``(n_snapshots, n_parameters)``.

    Raises
    ------
    ModelFileError
        Naming ``path``, for anything else (another kind of file, a malformed document, a
        tensor that does not fit it, a checksum that does not match).
    """
    return _parse(*container.read_document(path, _check_specs, (container.SNAPSHOTS_KIND,)))


def _parameter_count(sizes: Sequence[int]) -> int:
    return sum((n_in + 1) * n_out for n_in, n_out in itertools.pairwise(sizes))


def _epochs_and_sizes(document: dict) -> tuple[list[int], list[int]]:
    epochs, sizes = document.get("epochs"), document.get("sizes")
    container.expect(
        isinstance(epochs, list) and len(epochs) > 0, "epochs must be a non-empty list"
    )
    container.expect(isinstance(sizes, list) and len(sizes) >= 2, "sizes must list the layers")
    checked_epochs = [container.read_int(e, "an epoch", 0, 2**31) for e in epochs]  # type: ignore[union-attr]
    container.expect(
        checked_epochs == sorted(set(checked_epochs)), "epochs must be distinct and ascending"
    )
    checked_sizes = [container.read_int(n, "a layer size", 1, 2**31) for n in sizes]  # type: ignore[union-attr]
    return checked_epochs, checked_sizes


def _check_specs(document: dict, specs: container.TensorSpecs) -> None:
    epochs, sizes = _epochs_and_sizes(document)
    container.expect(set(specs) == {"parameters"}, "it must hold one tensor, 'parameters'")
    dtype, shape = specs["parameters"]
    wanted = (len(epochs), _parameter_count(sizes))
    container.expect(dtype == np.dtype("<f8"), f"parameters must be F64, got {dtype}")
    container.expect(shape == wanted, f"parameters must have shape {wanted}, got {shape}")


def _parse(
    document: dict, tensors: dict[str, np.ndarray]
) -> tuple[list[int], list[int], np.ndarray]:
    epochs, sizes = _epochs_and_sizes(document)
    parameters = tensors["parameters"]
    container.expect(bool(np.isfinite(parameters).all()), "parameters contain NaN or infinity")
    return epochs, sizes, parameters
