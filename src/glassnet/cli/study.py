"""``glassnet study``: the seed's configuration over many seeds, beside a modern one."""

from __future__ import annotations

import argparse
import contextlib
from typing import Any

from .. import study
from .common import CommandError, say
from .outputs import OutputFolder


def run_study(args: argparse.Namespace) -> int:
    outputs = OutputFolder(args.out, "--out", "glassnet study")
    outputs.check_names(
        ["seed-study.md", "seed-study.png", "seed-study-dynamics.png", "seed-study.json"]
    )
    with contextlib.ExitStack() as stack:
        client = _client(args, stack)
        where = ""
        if client is not None:
            cluster = (
                "a local Dask cluster"
                if args.scheduler == "local"
                else f"the Dask cluster at {args.scheduler}"
            )
            where = f" on {cluster} ({len(client.nthreads())} workers)"
        say(
            f"glassnet study: {args.runs} data seeds, the seed configuration ({args.epochs} "
            f"epochs) and a modern one{where}"
        )
        with outputs.staging() as stage:
            result = study.run_study(
                args.runs,
                1 if client is not None or args.jobs is None else args.jobs,
                args.epochs,
                progress=lambda done, total: say(f"  {done}/{total} seeds done"),
                client=client,
            )
            numbers = study.write_report(result, stage)
    say(
        f"median test accuracy: seed configuration {numbers['seed_accuracy']['median']:.4f}, "
        f"modern {numbers['modern_accuracy']['median']:.4f}; "
        f"{numbers['stalled']} of {numbers['runs']} seed runs stalled"
    )
    say(
        "wrote seed-study.md, seed-study.png, seed-study-dynamics.png and seed-study.json to "
        f"{args.out}"
    )
    return 0


def _client(args: argparse.Namespace, stack: contextlib.ExitStack) -> Any:
    """The Dask client ``--scheduler`` asks for (closed with ``stack``), or None."""
    if args.scheduler is None:
        return None
    from .. import distributed

    if args.scheduler != distributed.LOCAL and args.jobs is not None:
        raise CommandError(
            f"--jobs applies without --scheduler or with --scheduler local, got --jobs {args.jobs} "
            f"with --scheduler {args.scheduler} (that cluster's workers decide how many seeds run "
            "at once)"
        )
    return stack.enter_context(
        distributed.connect(
            args.scheduler, n_workers=args.jobs if args.scheduler == distributed.LOCAL else None
        )
    )
