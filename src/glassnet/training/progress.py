"""Progress reports through ``verbose``, and Ctrl-C turned into a request to stop."""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType
from typing import Any

__all__ = ["Interrupt", "Progress"]


class Progress:
    """Progress through ``verbose``: 1 is a tqdm bar (a line per epoch without tqdm), 2 a line
    per epoch (on stderr)."""

    def __init__(self, verbose: int, epochs: int) -> None:
        self.verbose = verbose
        self.bar: Any = None
        if verbose == 1:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                self.verbose = 2
            else:
                self.bar = tqdm(
                    total=epochs, unit="epoch", desc="training", dynamic_ncols=True, leave=True
                )

    def update(self, epoch: int, logs: dict[str, float]) -> None:
        if not self.verbose:
            return
        shown = {k: f"{v:.4g}" for k, v in logs.items() if k != "epoch_time"}
        if self.bar is not None:
            self.bar.set_postfix(shown, refresh=False)
            self.bar.update(1)
        else:
            text = "  ".join(f"{k}: {v}" for k, v in shown.items())
            print(
                f"epoch {epoch + 1}  {text}  ({logs['epoch_time']:.2f}s)",
                file=sys.stderr,
                flush=True,
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class Interrupt:
    """Turn the first Ctrl-C during training into a request to stop after the current step.

    A second Ctrl-C interrupts as usual. Signals can only be caught in the main thread; elsewhere
    this does nothing.
    """

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def __enter__(self) -> Interrupt:
        if threading.current_thread() is threading.main_thread():
            try:
                self._previous = signal.signal(signal.SIGINT, self._handle)
            except ValueError:  # not the main interpreter
                self._previous = None
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True
        signal.signal(signal.SIGINT, self._previous or signal.default_int_handler)

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
