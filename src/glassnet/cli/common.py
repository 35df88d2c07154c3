"""What every command shares: one-line errors, notes, quiet training and the small files it writes.

Output folders and files are checked and staged by :mod:`.outputs`, memory by :mod:`.memory`.
"""

from __future__ import annotations

import contextlib
import csv
import json
import platform
import re
import shlex
import sys
import time
import warnings
from importlib import resources
from typing import Any

import numpy as np

from .._version import __version__
from ..network import NeuralNetwork
from ..training.callbacks import History

EXIT_ERROR = 2
#: what a shell reports for a command stopped by Ctrl-C (128 + SIGINT)
EXIT_INTERRUPTED = 130
#: what a shell reports for a command whose reader went away (128 + SIGPIPE)
EXIT_BROKEN_PIPE = 141


class CommandError(Exception):
    """A problem to report in one line, exit status 2."""


def network_of(model: object, command: str) -> NeuralNetwork:
    """The network inside ``model`` (a network, or a fitted glassnet estimator) for ``command``
    (what it does, for the error: "inspect looks inside")."""
    if isinstance(model, NeuralNetwork):
        return model
    inner = getattr(model, "network_", None)
    if isinstance(inner, NeuralNetwork):
        return inner
    raise CommandError(f"{command} glassnet networks; got a {type(model).__name__}")


def say(*parts: str) -> None:
    print(*parts, flush=True)


def note(message: str) -> None:
    print(f"glassnet: note: {' '.join(str(message).split())}", file=sys.stderr, flush=True)


# ====================================================================== the rest
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


def train_quietly(
    network: NeuralNetwork, *args: Any, resume_with: str | None = None, **kwargs: Any
) -> bool:
    """Train; return whether Ctrl-C interrupted it (said in a note on stderr at once).

    ``resume_with`` is the checkpoint ``glassnet train --resume`` would continue from; the note
    names that command. Other warnings are passed on (:func:`glassnet.cli.main` shows them as
    notes once the command has succeeded).
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        network.train(*args, **kwargs)
    return pass_on_warnings(caught, resume_with)


def ready_compiled(network: NeuralNetwork, x: Any, y: Any, batch_size: int | None) -> float | None:
    """Make the compiled kernels a run will train with ready before its clock starts, so that
    its training time is training: numba compiles them on a machine's first run (seconds to
    tens of seconds) and caches them on disk, later runs load them in a fraction of a second.
    A throw-away copy of ``network`` takes one step of ``batch_size`` on the first samples,
    so it loads what the run uses and nothing else. Says how long that took and returns it, or
    None where the run trains on NumPy alone. Ctrl-C meanwhile stops the command.
    """
    if getattr(network.optimizer, "full_batch", False) or (
        network.compiled_training() is not None and network.compiled_update() is not None
    ):
        return None
    rows = len(x) if batch_size is None else min(batch_size, len(x))
    started = time.perf_counter()
    if train_quietly(network.copy(), x[:rows], y[:rows], epochs=1, batch_size=batch_size):
        raise KeyboardInterrupt
    seconds = time.perf_counter() - started
    say(
        f"compiled kernels ready in {seconds:.1f} s (numba compiles them on a machine's first "
        "run and caches them on disk)"
    )
    return seconds


def pass_on_warnings(caught: list[warnings.WarningMessage], resume_with: str | None) -> bool:
    """Note an interruption at once (with the command that continues it); warn the rest again.
    Returns whether training was interrupted."""
    interrupted = False
    for warning in caught:
        message = str(warning.message)
        if "interrupted" in message:
            interrupted = True
            message = re.sub(r"\s*\(continue with glassnet\.resume\)", "", message)
            if resume_with is not None:
                message += f"; continue with: glassnet train --resume {shlex.quote(resume_with)}"
            note(message)
        else:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    return interrupted


def seed_study_digest() -> dict[str, Any] | None:
    try:
        text = resources.files("glassnet").joinpath("seed_study.json").read_text()
    except (FileNotFoundError, OSError):
        return None
    return json.loads(text)
