"""glassnet against another version of itself: the benchmark cases, run alternately, side by side.

    python benchmarks/compare.py OTHER_SRC [--repeats 5] [--cases A B C D]

``OTHER_SRC`` is the ``src`` folder of another checkout (for example a ``git worktree`` of the
commit before a change). Every measurement is ``benchmarks/run.py``'s worker in a fresh process,
the two versions take turns (the order alternates each repetition), and the report gives each
version's median and the ratio new/old of the medians, so that a change can be shown not to slow
any case down. Nothing is written; the table goes to standard output.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
THIS_SRC = HERE.parent / "src"

#: per case: the measurement compared, and whether higher is better
MEASURES = {
    "A": [("seconds", False)],
    "B": [("seconds", False)],
    "C": [("seconds", False)],
    "D": [
        ("moons_latency_us", False),
        ("moons_throughput", True),
        ("mnist_like_latency_us", False),
        ("mnist_like_throughput", True),
    ],
}


def measure(src: Path, case: str, seed: int, threads: int) -> dict:
    command = [
        sys.executable,
        str(HERE / "run.py"),
        "--worker",
        case,
        "glassnet",
        str(seed),
        "--threads",
        str(threads),
    ]
    environment = {**os.environ, "PYTHONPATH": str(src)}
    output = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
    if output.returncode != 0:
        raise RuntimeError(f"case {case} with {src} failed:\n{output.stderr}")
    return json.loads(output.stdout.strip().splitlines()[-1])


def _verdict(ratio: float, higher_is_better: bool) -> str:
    return "new faster" if (ratio > 1) == higher_is_better else "new slower"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("other", type=Path, help="the src folder of the version to compare with")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cases", nargs="+", default=list(MEASURES), choices=list(MEASURES))
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    versions = {"old": args.other.resolve(), "new": THIS_SRC}
    results: dict = {case: {"old": [], "new": []} for case in args.cases}
    for repeat in range(args.repeats):
        order = ["old", "new"] if repeat % 2 == 0 else ["new", "old"]
        for case in args.cases:
            for name in order:
                results[case][name].append(measure(versions[name], case, repeat, args.threads))
        print(f"repetition {repeat + 1} of {args.repeats} done", file=sys.stderr, flush=True)
    print(
        f"| case | measure | old (median of {args.repeats}) | new | new/old of the medians "
        "| median of the paired new/old | all old | all new |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for case in args.cases:
        for key, higher in MEASURES[case]:
            old = [m[key] for m in results[case]["old"]]
            new = [m[key] for m in results[case]["new"]]
            ratio = statistics.median(new) / statistics.median(old)
            # each repetition ran both versions back to back: their ratio is immune to the
            # machine changing speed between repetitions
            paired = statistics.median(n / o for n, o in zip(new, old))
            print(
                f"| {case} | {key} | {statistics.median(old):.4g} | {statistics.median(new):.4g} "
                f"| {ratio:.3f} ({_verdict(ratio, higher)}) | {paired:.3f} "
                f"({_verdict(paired, higher)}) | {', '.join(f'{v:.4g}' for v in old)} "
                f"| {', '.join(f'{v:.4g}' for v in new)} |"
            )


if __name__ == "__main__":
    main()
