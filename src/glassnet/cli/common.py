"""What every command shares: one-line errors, the staging folder, notes and output files."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import platform
import shutil
import sys
import tempfile
import warnings
from collections.abc import Iterator
from importlib import resources
from typing import Any

import numpy as np

from .._version import __version__
from ..network import NeuralNetwork
from ..training.callbacks import History

EXIT_ERROR = 2


class CommandError(Exception):
    """A problem to report in one line, exit status 2."""


def standardize(x: np.ndarray, statistics: dict[str, list[float]]) -> np.ndarray:
    """``(x − mean) / scale`` with the training part's ``statistics`` (saved with the model)."""
    return (x - np.array(statistics["mean"])) / np.array(statistics["scale"])


@contextlib.contextmanager
def staging(out: str) -> Iterator[str]:
    """Yield a temporary folder; move its files into ``out`` only if the block succeeds."""
    stage = tempfile.mkdtemp(prefix="glassnet-")
    try:
        yield stage
        if os.path.exists(out) and not os.path.isdir(out):
            raise CommandError(f"--out {out} exists and is not a folder")
        os.makedirs(out, exist_ok=True)
        for name in sorted(os.listdir(stage)):
            target = os.path.join(out, name)
            try:
                os.replace(os.path.join(stage, name), target)
            except OSError:  # another file system: copy, then rename into place
                shutil.copyfile(os.path.join(stage, name), target + ".part")
                os.replace(target + ".part", target)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def say(*parts: str) -> None:
    print(*parts, flush=True)


def note(message: str) -> None:
    print(f"glassnet: note: {' '.join(str(message).split())}", file=sys.stderr, flush=True)


def versions() -> dict[str, str]:
    found = {"glassnet": __version__, "python": platform.python_version(), "numpy": np.__version__}
    for name in ("sklearn", "matplotlib", "safetensors"):
        with contextlib.suppress(ImportError):
            found["scikit-learn" if name == "sklearn" else name] = __import__(name).__version__
    return found


def write_history(history: History, path: str) -> None:
    columns = [name for name, values in vars(history).items() if values]
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["epoch", *columns])
        for epoch in range(len(history.loss)):
            writer.writerow(
                [epoch + 1, *(repr(float(getattr(history, name)[epoch])) for name in columns)]
            )


def write_json(data: dict[str, Any], path: str) -> None:
    with open(path, "w") as handle:
        json.dump(data, handle, indent=2)
        handle.write("\n")


def train_quietly(network: NeuralNetwork, *args: Any, **kwargs: Any) -> bool:
    """Train, turning the library's warnings (an interruption) into notes on stderr."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        network.train(*args, **kwargs)
    interrupted = False
    for warning in caught:
        interrupted = interrupted or "interrupted" in str(warning.message)
        note(str(warning.message))
    return interrupted


def seed_study_digest() -> dict[str, Any] | None:
    try:
        text = resources.files("glassnet").joinpath("seed_study.json").read_text()
    except (FileNotFoundError, OSError):
        return None
    return json.loads(text)
