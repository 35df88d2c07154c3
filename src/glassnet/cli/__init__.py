"""The ``glassnet`` command: ``demo``, ``train``, ``predict``, ``evaluate``, ``study``, ``export``,
``inspect`` and ``page``.

Every error is one line on stderr and exit status 2, and leaves the outputs as they were: output
places are checked before any work, and files are written to a staging folder and moved into
``--out`` all at once at the end (:class:`.outputs.OutputFolder`). Ctrl-C exits with 130, a closed
standard output (``glassnet predict ... | head``) quietly with 141. Warnings become notes on
stderr once a command has succeeded. Each command has a module of its own; :mod:`.parser`
declares their arguments.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import warnings

from .common import EXIT_BROKEN_PIPE, EXIT_ERROR, EXIT_INTERRUPTED, CommandError, note
from .parser import build_parser

__all__ = ["EXIT_ERROR", "CommandError", "build_parser", "main"]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    with warnings.catch_warnings(record=True) as caught:
        status = _run(args)
    if status != EXIT_ERROR:
        for message in dict.fromkeys(str(warning.message) for warning in caught):
            with contextlib.suppress(OSError):
                note(message)
    return status


def _run(args: argparse.Namespace) -> int:
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        print(f"glassnet {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except MemoryError as error:
        detail = str(error)
        _error(
            args.command,
            "out of memory" + (f" ({detail[:1].lower()}{detail[1:]})" if detail else ""),
        )
        return EXIT_ERROR
    except (CommandError, ValueError, TypeError, OSError, ImportError, OverflowError) as error:
        _error(args.command, _message(error))
        return EXIT_ERROR


def _message(error: Exception) -> str:
    if isinstance(error, OSError):
        if isinstance(error, FileNotFoundError) and error.filename:
            return f"no such file or folder: {error.filename}"
        if isinstance(error, IsADirectoryError) and error.filename:
            return f"{error.filename} is a folder, not a file"
        if isinstance(error, PermissionError) and error.filename:
            return f"permission denied: {error.filename}"
        if error.filename:
            return f"{error.filename}: {error.strerror or error}"
        if error.strerror:
            return error.strerror
    return str(error)


def _error(command: str, message: str) -> None:
    print(f"glassnet {command}: error: {' '.join(message.split())}", file=sys.stderr)


def _silence_stdout() -> None:
    """After the reader of standard output went away: send what is left nowhere, so that
    Python's final flush does not complain."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
