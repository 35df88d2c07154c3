"""The ``glassnet`` command: ``demo``, ``train``, ``predict``, ``evaluate`` and ``study``.

Every error is one line on stderr and exit status 2; outputs are written to a staging folder and
moved into ``--out`` only once everything succeeded, so a failed run leaves nothing behind. Each
command has a module of its own; :mod:`.parser` declares their arguments.
"""

from __future__ import annotations

import sys

from .common import EXIT_ERROR, CommandError
from .parser import build_parser

__all__ = ["EXIT_ERROR", "CommandError", "build_parser", "main"]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print(f"glassnet {args.command}: interrupted", file=sys.stderr)
        return 130
    except (CommandError, ValueError, TypeError, OSError, ImportError) as error:
        message = str(error)
        if isinstance(error, FileNotFoundError) and error.filename:
            message = f"no such file or folder: {error.filename}"
        elif isinstance(error, IsADirectoryError) and error.filename:
            message = f"{error.filename} is a folder, not a file"
        elif isinstance(error, PermissionError) and error.filename:
            message = f"permission denied: {error.filename}"
        print(f"glassnet {args.command}: error: {' '.join(message.split())}", file=sys.stderr)
        return EXIT_ERROR
