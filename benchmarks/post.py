"""The blog post's own code, timed on its own 500-epoch experiment (for case S).

    python benchmarks/post.py [--seed-dir DIR] [--epochs 500] [--seed 0]

The post (``000_e7f486d18d6db934.txt`` in the seed folder: ``--seed-dir``, or the environment
variable ``GLASSNET_SEED_DIR``, default ``../shared/seed`` from the repository's root) is not
copied into this repository. This script reads it at run time, takes its Python code out of the
prose, applies the few textual patches below (each printed), and runs it in a fresh process,
timing the post's ``network.train(x_train, y_train, 500)``: per-sample SGD with the post's
per-epoch error over the training set. Prints one JSON line last: ``seconds``, ``accuracy``
(the post's own printed test accuracy), ``patches``; or ``{"skipped": reason}`` when the post
is not there.

How the code is found: the post has no code fences. A line is code when it is indented, a
comment, a ``%`` magic, or starts like a Python statement (a keyword, or a name followed by
``=``, ``(``, ``.`` or ``,``); runs of such lines are blocks, and a block is kept when it
compiles, holds at least two statements and reads only names bound before it (the
derivation's formulas, such as ``Loss = (y-t)^2/2`` or ``a1 = activate(z1)``, are prose).
Indented blocks after the first (the derivation quoting ``update`` and ``backward`` again) are
left out.
"""

from __future__ import annotations

import argparse
import ast
import builtins
import json
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: its name in the benchmark's table
NAME = "the blog post's code"
POST_NAME = "000_e7f486d18d6db934.txt"
DEFAULT_SEED_DIR = HERE.parent.parent / "shared" / "seed"

#: (what, old, new): the minimal changes for the post's code to run here as a timed script
PATCHES = [
    (
        "the debugging print in Layer.backward, which runs on every step, removed "
        "(the seed README's measurement does the same)",
        "print(dz.shape)",
        "pass",
    ),
    (
        "the notebook magic, which is not Python, commented out",
        "%matplotlib inline",
        "# %matplotlib",
    ),
    (
        "its global np.random seeded, for a reproducible run",
        "SAMPLE_COUNT = 3000",
        "SAMPLE_COUNT = 3000\nnp.random.seed(SEED)",
    ),
    (
        "the training call timed, and run for EPOCHS epochs (500 as the post)",
        "network.train(x_train, y_train, 500)",
        "_started = time.perf_counter()\n"
        "network.train(x_train, y_train, EPOCHS)\n"
        "SECONDS = time.perf_counter() - _started",
    ),
]

_STATEMENT = re.compile(
    r"^(def|class|import|from|return|for|while|if|elif|else|with|try|except|pass|print)\b"
    r"|^[A-Za-z_][\w]*(\[[^\]]*\])?\s*([-+*/]?=|\(|\.|,)"
)


def seed_dir(option: str | None) -> Path:
    if option:
        return Path(option)
    return Path(os.environ.get("GLASSNET_SEED_DIR", DEFAULT_SEED_DIR))


def _is_code(line: str) -> bool:
    if not line.strip():
        return False
    if line[0] in " \t":
        return True
    stripped = line.strip()
    return stripped.startswith(("#", "%")) or bool(_STATEMENT.match(stripped))


def code_blocks(text: str) -> list[str]:
    """The post's Python code, block by block, in its order (see the module's docstring)."""
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in text.splitlines():
        if _is_code(line):
            current.append(line)
        elif line.strip() or not current:
            if current:
                blocks.append(current)
            current = []
        else:  # a blank line inside a block
            current.append(line)
    if current:
        blocks.append(current)
    kept: list[str] = []
    bound: set[str] = set()
    for block in blocks:
        source = textwrap.dedent("\n".join(block).expandtabs(4)).strip("\n") + "\n"
        try:
            tree = ast.parse(source.replace("%matplotlib", "#"))
        except SyntaxError:
            continue
        if len(tree.body) < 2 and not any(isinstance(n, ast.ClassDef) for n in tree.body):
            continue
        if block[0][:1] in " \t" and kept:
            continue  # an indented fragment outside a class: the derivation quoting a method
        if not _names_known(tree, bound):
            continue  # formulas of the derivation (a1 = activate(z1)): not the program
        bound |= _bound_names(tree)
        kept.append(source)
    return kept


def _bound_names(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
    return names


def _names_known(tree: ast.Module, bound: set[str]) -> bool:
    """Whether every name the block's top-level statements read is bound by then (by an
    earlier block, the block itself, Python's builtins, or the runner's SEED, EPOCHS, time)."""
    known = bound | _bound_names(tree) | set(dir(builtins)) | {"SEED", "EPOCHS", "time"}
    for statement in tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.ClassDef)):
            continue  # their bodies read names when called
        for node in ast.walk(statement):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                if node.id not in known:
                    return False
    return True


def program(text: str) -> tuple[str, list[str]]:
    """The post's code as one script, patched; and the patches applied, in words."""
    source = "\n".join(code_blocks(text))
    applied = []
    for what, old, new in PATCHES:
        if old in source:
            source = source.replace(old, new)
            applied.append(f"{what}: {old!r} -> {new!r}")
    return source, applied


_RUNNER = """
import json, os, sys, time
SEED = int(sys.argv[1]); EPOCHS = int(sys.argv[2])
import matplotlib
matplotlib.use("Agg")
import io, contextlib
printed = io.StringIO()
with contextlib.redirect_stdout(printed):
    exec(compile(sys.stdin.read(), "blog-post", "exec"))
accuracy = None
for line in printed.getvalue().splitlines():
    if line.startswith("network auccurency:"):
        accuracy = float(line.split(":", 1)[1])
print(json.dumps({"seconds": SECONDS, "accuracy": accuracy}))
"""


def run(folder: Path, epochs: int = 500, seed: int = 0, threads: int | None = None) -> dict:
    """Run the post's experiment in a fresh process; see the module's docstring."""
    path = folder / POST_NAME
    if not path.is_file():
        return {"skipped": f"the blog post is not at {path} (--seed-dir or GLASSNET_SEED_DIR)"}
    source, applied = program(path.read_text(encoding="utf-8"))
    environment = dict(os.environ, MPLBACKEND="Agg")
    if threads is not None:
        environment["OPENBLAS_NUM_THREADS"] = environment["OMP_NUM_THREADS"] = str(threads)
    started = time.perf_counter()
    output = subprocess.run(
        [sys.executable, "-c", _RUNNER, str(seed), str(epochs)],
        input="import time\n" + source,
        capture_output=True,
        text=True,
        env=environment,
    )
    if output.returncode != 0:
        raise RuntimeError(f"the blog post's code failed:\n{output.stderr[-3000:]}")
    result = json.loads(output.stdout.strip().splitlines()[-1])
    result["process_seconds"] = time.perf_counter() - started
    result["patches"] = applied
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed-dir", help="the folder holding the post (default: ../shared/seed)")
    parser.add_argument("--epochs", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--show", action="store_true", help="print the extracted, patched code")
    args = parser.parse_args(argv)
    folder = seed_dir(args.seed_dir)
    if args.show:
        path = folder / POST_NAME
        print(program(path.read_text(encoding="utf-8"))[0])
        return 0
    print(json.dumps(run(folder, args.epochs, args.seed, args.threads)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
