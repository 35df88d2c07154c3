"""Checkpoints: what a training run saves so that :func:`glassnet.resume` can continue it exactly.

A checkpoint is a model file (see :mod:`glassnet.files`) with a ``training`` section: the run's
settings (:class:`RunSettings`) and its position (:class:`Position`), plus early stopping's
counters. :class:`CheckpointWriter` writes one atomically; :class:`ResumePoint` is what
:func:`glassnet.training.train` is given to continue from one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..files import atomic, container, document
from .callbacks import EarlyStopping

__all__ = ["CheckpointWriter", "Position", "ResumePoint", "RunSettings"]


@dataclass(frozen=True)
class RunSettings:
    """What a training run was asked to do (saved in every checkpoint).

    Attributes
    ----------
    target_epochs : int
        The length of the network's history when the run is complete.
    batch_size : int or None
    shuffle : bool
    checkpoint_every : int
    validation : bool
        Whether the run is validated after every epoch (resuming then needs the same data).
    fingerprint : str or None
        A hash of the training data, so that resuming on other data is refused.
    """

    target_epochs: int
    batch_size: int | None
    shuffle: bool
    checkpoint_every: int
    validation: bool
    fingerprint: str | None


@dataclass(frozen=True)
class Position:
    """Where a run stands: before ``batch`` of ``epoch`` (0 is the start of the epoch).

    ``total`` is the epoch's summed loss so far and ``order`` its sample order (mid-epoch only).
    """

    epoch: int
    batch: int = 0
    total: float = 0.0
    finished: bool = False
    order: np.ndarray | None = None


@dataclass(frozen=True)
class ResumePoint:
    """Continue a run: its settings' target, the data's fingerprint and the position mid-epoch.

    Attributes
    ----------
    target_epochs : int
    fingerprint : str or None
    batch : int
        The batch of the first epoch to start from (0: a whole epoch).
    total : float
        That epoch's loss so far.
    order : ndarray of int or None
        That epoch's sample order (None when the run does not shuffle).
    """

    target_epochs: int
    fingerprint: str | None
    batch: int = 0
    total: float = 0.0
    order: np.ndarray | None = None

    def check(self, n_samples: int, batch_size: int | None, shuffle: bool) -> None:
        """Raise ``ValueError`` if a mid-epoch position does not fit ``n_samples`` samples."""
        if not self.batch:
            return
        order = self.order
        if (order is None) == shuffle or (
            order is not None and not np.array_equal(np.sort(order), np.arange(n_samples))
        ):
            raise ValueError(
                f"the checkpoint's sample order does not fit these data ({n_samples} samples)"
            )
        batch = n_samples if batch_size is None else min(batch_size, n_samples)
        if self.batch >= -(-n_samples // batch):
            raise ValueError("the checkpoint's batch position does not fit these data")


def fingerprint(*arrays: np.ndarray | None) -> str:
    """A SHA-256 of the arrays' dtypes, shapes and bytes."""
    digest = hashlib.sha256()
    for array in arrays:
        if array is None:
            continue
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        if array.__class__ is np.ndarray:
            digest.update(np.ascontiguousarray(array).tobytes())
        else:  # a sparse CSR matrix (see _validation.check_x): its three arrays
            for part in (array.indptr, array.indices, array.data):  # type: ignore[attr-defined]
                digest.update(np.ascontiguousarray(part).tobytes())
    return digest.hexdigest()


def early_stopping_state(early: EarlyStopping) -> dict[str, Any]:
    """Early stopping's settings and counters as JSON data."""
    return {
        "monitor": early.monitor,
        "patience": early.patience,
        "min_delta": early.min_delta,
        "restore_best": early.restore_best,
        "best": early.best,
        "best_epoch": early.best_epoch,
        "wait": early.wait,
        "stopped": early.stopped,
    }


class CheckpointWriter:
    """Writes a training run's checkpoints to ``path`` (atomically, every time).

    Parameters
    ----------
    path : path
        A file in an existing folder.
    data_fingerprint : str
        :func:`fingerprint` of the training data.
    """

    def __init__(self, path: str | bytes | os.PathLike[str], data_fingerprint: str) -> None:
        if not isinstance(path, (str, bytes, os.PathLike)):
            raise TypeError(f"checkpoint must be a path, got {type(path).__name__} {path!r}")
        self.path = os.path.abspath(atomic.display_path(path))
        folder = os.path.dirname(self.path)
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"checkpoint folder {folder} does not exist")
        if os.path.isdir(self.path):
            raise IsADirectoryError(f"checkpoint {self.path} is a folder; give a file name")
        atomic.check_save_target(self.path)  # a device or a FIFO is refused before training
        container.require_safetensors()
        self.fingerprint = data_fingerprint

    def save(
        self,
        network: Any,
        settings: RunSettings,
        position: Position,
        early_stopping: EarlyStopping | None,
    ) -> None:
        """Write the network, the run's settings and position, and early stopping's state."""
        body, tensors = document.network_document(network)
        training: dict[str, Any] = dataclasses.asdict(settings)
        training.update(
            epoch=position.epoch,
            batch=position.batch,
            total=float(position.total),
            finished=position.finished,
        )
        if position.order is not None:
            tensors["training.order"] = np.asarray(position.order, dtype=np.int64)
        if early_stopping is not None:
            training["early_stopping"] = early_stopping_state(early_stopping)
            if early_stopping.best_parameters is not None:
                best = early_stopping.best_parameters[network.file_order()]
                tensors["early_stopping.best_parameters"] = best
        content = {**container.header("NeuralNetwork"), **body, "training": training}
        atomic.atomic_write(self.path, container.serialise(content, tensors))
