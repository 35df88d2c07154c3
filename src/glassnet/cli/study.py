"""``glassnet study``: the seed's configuration over many seeds, beside a modern one."""

from __future__ import annotations

import argparse

from .. import study
from .common import say
from .outputs import OutputFolder


def run_study(args: argparse.Namespace) -> int:
    outputs = OutputFolder(args.out, "--out", "glassnet study")
    outputs.check_names(["seed-study.md", "seed-study.png", "seed-study.json"])
    say(
        f"glassnet study: {args.runs} data seeds, the seed configuration ({args.epochs} epochs) "
        "and a modern one"
    )
    with outputs.staging() as stage:
        result = study.run_study(
            args.runs,
            args.jobs,
            args.epochs,
            progress=lambda done, total: say(f"  {done}/{total} seeds done"),
        )
        numbers = study.write_report(result, stage)
    say(
        f"median test accuracy: seed configuration {numbers['seed_accuracy']['median']:.4f}, "
        f"modern {numbers['modern_accuracy']['median']:.4f}; "
        f"{numbers['stalled']} of {numbers['runs']} seed runs stalled"
    )
    say(f"wrote seed-study.md, seed-study.png and seed-study.json to {args.out}")
    return 0
