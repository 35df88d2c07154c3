"""glassnet against scikit-learn's MLPClassifier and PyTorch (CPU), side by side in one run.

    python benchmarks/run.py [--repeats 5] [--cases ABCDES] [--threads N] [--seed-dir DIR]

Every measurement runs in a fresh process (so no contestant's idle worker threads slow the next
one down), the contestants take turns (the order rotates each repetition), and the report gives
medians, the ratio to each peer, and accuracy beside time. Results go to
benchmarks/results/latest.json and latest.md, and the table in benchmarks/README.md is replaced.

glassnet runs twice where it has a compiled path: its default (numba where installed) and,
as a row of its own, its NumPy path (backend="numpy"). Case S also times the blog post's own
code (benchmarks/post.py: read at run time from --seed-dir, default ../shared/seed; the row is
skipped when the post is not there). The compile times of the kernels are measured first, in
fresh processes with an empty numba cache and then with the cache they filled.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys

if "--threads" in sys.argv:  # before NumPy (and its BLAS) is loaded
    _threads = sys.argv[sys.argv.index("--threads") + 1]
    os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = _threads
import platform
import re
import statistics
import subprocess
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import cases  # noqa: E402
import contestants  # noqa: E402
import post  # noqa: E402
from contestants import CONTESTANTS  # noqa: E402

torch = None
if contestants.torch_available() and ("--worker" not in sys.argv or "PyTorch" in sys.argv):
    import torch  # only where it runs: importing it costs memory and starts threads

import glassnet as gn  # noqa: E402

#: issue 15's targets (issue 6's were A 5x and 10x, B 4x and 8x, C 1.3x and 70%, D 5x)
TARGETS = {
    "A": {"scikit-learn": 30.0, "PyTorch": 80.0},
    "B": {"scikit-learn": 8.0, "PyTorch": 8.0},
    "C": {"PyTorch": 1.5, "peak": 0.80},
    "D": {"scikit-learn": 10.0},
    "S": {post.NAME: 15.0},
}


def median(values):
    return float(statistics.median(values))


def names(args) -> list[str]:
    available = ["glassnet", "scikit-learn"]
    if torch is not None and not args.no_torch:
        available.append("PyTorch")
    return available


def rotations(contestant_names, repeats):
    for repeat in range(repeats):
        shift = repeat % len(contestant_names)
        yield repeat, contestant_names[shift:] + contestant_names[:shift]


def seed_initial_weights(spec, seed):
    """The weights glassnet's network starts from, for PyTorch to start from them too."""
    network = contestants.glassnet_network(
        spec["sizes"],
        spec["activation"],
        spec["loss"],
        gn.SGD(spec["lr"]),
        spec["dtype"],
        spec["init"],
        seed,
    )
    return [(layer.weights.copy(), layer.bias.copy()) for layer in network.layers]


# ---------------------------------------------------------------------------- one measurement
def matmul_peak(spec, repeats=30):
    """NumPy's GFLOP/s on exactly the products one training step makes."""
    rng = np.random.default_rng(0)
    dtype = np.dtype(spec["dtype"])
    products = cases.matmul_list(spec["batch_size"], spec["sizes"])
    operands = [
        (
            rng.standard_normal((m, k)).astype(dtype),
            rng.standard_normal((k, n)).astype(dtype),
            np.empty((m, n), dtype),
        )
        for m, k, n in products
    ]
    for a, b, out in operands:
        np.dot(a, b, out=out)
    times = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(repeats):
            for a, b, out in operands:
                np.dot(a, b, out=out)
        times.append((time.perf_counter() - started) / repeats)
    return cases.flops(spec["batch_size"], spec["sizes"]) / median(times) / 1e9


def latency(predict, model, x, calls=2000):
    rows = [x[i : i + 1] for i in range(calls)]
    for row in rows[:50]:
        predict(model, row)
    times = []
    for _ in range(5):
        started = time.perf_counter()
        for row in rows:
            predict(model, row)
        times.append((time.perf_counter() - started) / calls)
    return 1e6 * median(times)


def throughput(predict, model, x, repeats=7, calls=10):
    predict(model, x)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(calls):  # a single call is a few milliseconds: too short to time alone
            predict(model, x)
        times.append((time.perf_counter() - started) / calls)
    return len(x) / median(times)


SPECS = {
    "A": cases.CASE_A,
    "A shuffled": cases.CASE_A_SHUFFLED,
    "B": cases.CASE_B,
    "C": cases.CASE_C,
}


def measure(case: str, name: str, seed: int) -> dict:
    """One measurement, in this (fresh) process."""
    if case == "peak":
        return {"gflops": matmul_peak(cases.CASE_C)}
    if case == "compile":
        return contestants.compile_times()
    if case == "S":  # the demo's seed experiment, compiled or NumPy, or the post's own code
        if name == post.NAME:
            return post.run(post.seed_dir(None), 500, seed, int(os.environ["OMP_NUM_THREADS"]))
        backend = "numpy" if name == contestants.NUMPY_PATH else "auto"
        return contestants.train_seed_experiment(seed, backend)
    train, predict = CONTESTANTS[name]
    if case == "D":
        moons = cases.moons()
        digits = cases.synthetic_digits()
        small, _ = train(cases.CASE_B, moons[0], moons[2], seed)
        big, _ = train(cases.CASE_C, digits[0], digits[1], seed)
        x_small = np.tile(moons[1], (17, 1))[:10_000]
        x_big = np.tile(digits[2], (5, 1))[:10_000]
        return {
            "moons_latency_us": latency(predict, small, x_small),
            "moons_throughput": throughput(predict, small, x_small),
            "mnist_like_latency_us": latency(predict, big, x_big, calls=500),
            "mnist_like_throughput": throughput(predict, big, x_big),
        }
    if case == "B accuracy":  # `seed` is the number of seeds here; nothing is timed
        x_train, y_train, x_test, y_test = _moons_in_order()
        accuracies = [
            float(np.mean(predict(train(cases.CASE_B, x_train, y_train, s)[0], x_test) == y_test))
            for s in range(seed)
        ]
        return {"accuracies": accuracies}
    spec = SPECS[case]
    x_train, y_train, x_test, y_test = (
        cases.synthetic_digits() if case == "C" else _moons_in_order()
    )
    if name == "PyTorch" and case.startswith("A"):  # the very same starting weights as glassnet's
        model, seconds = contestants.train_torch(
            spec, x_train, y_train, seed, seed_initial_weights(spec, seed)
        )
    else:
        model, seconds = train(spec, x_train, y_train, seed)
    return {"seconds": seconds, "accuracy": float(np.mean(predict(model, x_test) == y_test))}


def _moons_in_order():
    x_train, x_test, y_train, y_test = cases.moons()
    return x_train, y_train, x_test, y_test


def run_measurement(
    case: str, name: str, seed: int, threads: int, environment: dict | None = None
) -> dict:
    command = [
        sys.executable,
        str(HERE / "run.py"),
        "--worker",
        case,
        name,
        str(seed),
        "--threads",
        str(threads),
    ]
    output = subprocess.run(command, capture_output=True, text=True, env=environment)
    if output.returncode != 0:
        raise RuntimeError(f"{case} / {name} failed:\n{output.stderr}")
    return json.loads(output.stdout.strip().splitlines()[-1])


def run_case(case: str, contestant_names, repeats: int, threads: int) -> dict:
    if case == "S":  # glassnet's compiled path, its NumPy path and the blog post's own code
        contestant_names = ["glassnet", contestants.NUMPY_PATH, post.NAME]
    elif case != "D":  # glassnet's NumPy path as a row of its own (prediction has no other)
        contestant_names = [*contestant_names, contestants.NUMPY_PATH]
    runs: dict = {name: [] for name in contestant_names}
    peaks = []
    for repeat, order in rotations(contestant_names, repeats):
        if case == "C":
            peaks.append(run_measurement("peak", "glassnet", repeat, threads)["gflops"])
        for name in order:
            runs[name].append(run_measurement(case, name, repeat, threads))
    result: dict = {}
    for name, measurements in runs.items():
        if "skipped" in measurements[0]:
            result[name] = {"skipped": measurements[0]["skipped"]}
            continue
        keys = [key for key, value in measurements[0].items() if isinstance(value, (int, float))]
        result[name] = {key: median([m[key] for m in measurements]) for key in keys}
        result[name]["all"] = measurements
    if case.startswith("A"):
        steps = SPECS[case]["epochs"] * len(cases.moons()[0])
        for name in result:
            result[name]["us_per_step"] = 1e6 * result[name]["seconds"] / steps
    if case == "C":
        spec = cases.CASE_C
        n = 20_000
        batch = spec["batch_size"]
        run_flops = spec["epochs"] * (
            (n // batch) * cases.flops(batch, spec["sizes"])
            + (cases.flops(n % batch, spec["sizes"]) if n % batch else 0)
        )
        peak = median(peaks)
        result["matmul_peak_gflops"] = peak
        result["peaks"] = peaks
        for name in contestant_names:
            result[name]["samples_per_second"] = spec["epochs"] * n / result[name]["seconds"]
            result[name]["gflops"] = run_flops / result[name]["seconds"] / 1e9
            result[name]["fraction_of_peak"] = result[name]["gflops"] / peak
    return result


# ---------------------------------------------------------------------------- compile times
def compile_times(threads: int) -> dict:
    """Seconds to compile the kernels in a fresh process with an empty numba cache (a
    machine's first run), then to load them from the cache that run filled (every later run)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="glassnet-numba-cache-") as folder:
        environment = dict(os.environ, NUMBA_CACHE_DIR=folder)
        first = run_measurement("compile", "glassnet", 0, threads, environment)
        cached = run_measurement("compile", "glassnet", 0, threads, environment)
    return {"first": first, "cached": cached}


# ---------------------------------------------------------------------------- case E
def case_e(contestant_names, threads, epochs=5):
    """Each contestant in a fresh process. glassnet's default path runs once unmeasured first:
    that run fills numba's on-disk cache, as any earlier run on the machine has, so the measured
    one loads its kernels instead of compiling them (compiling alone left LLVM's ~200 MB resident
    on a machine whose cache had never seen case C's float32 kernels; its time is the compile
    row)."""
    result = {}

    def measure(name):
        output = subprocess.run(
            [sys.executable, str(HERE / "memory.py"), name, str(epochs), str(threads)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return json.loads(output.strip().splitlines()[-1])

    for name in [*contestant_names, contestants.NUMPY_PATH]:
        first = measure(name) if name == "glassnet" else None
        data = measure(name)
        if first is not None:
            data["unmeasured_first_run"] = first
        data["training_increase"] = data["peak"] - data["after_data"]
        data["epoch_spread"] = max(data["per_epoch"]) - min(data["per_epoch"])
        result[name] = data
    return result


# ---------------------------------------------------------------------------- report
def ratio(peer, mine, higher_is_better=False):
    if peer is None or mine is None:
        return None
    return mine / peer if higher_is_better else peer / mine


def fmt(value, digits=3):
    if value is None:
        return "—"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def verdict(value, target):
    if value is None:
        return "—"
    return f"{value:.2f}× (target ≥ {target:g}×) {'✓' if value >= target else '✗'}"


def mini_batch_paths(reason, update_reason) -> str:
    """Which code trains cases B and C (and E, which trains C): the compiled mini-batch epoch
    where the network's parameters times the batch size are small enough, else NumPy's
    products with the compiled update and activations' passes (training.loop's rule)."""
    from glassnet.model import kernels
    from glassnet.training import loop

    def path(spec) -> str:
        sizes = spec["sizes"]
        parameters = sum((n_in + 1) * n_out for n_in, n_out in itertools.pairwise(sizes))
        small = parameters * spec["batch_size"] <= loop.BATCH_KERNEL_LIMIT
        if reason is None and small and kernels.batches_unavailable() is None:
            return "the compiled mini-batch epoch (numba, calling BLAS for its products)"
        if update_reason is None:
            return "NumPy's products with the compiled update and activations (numba)"
        return f"NumPy ({update_reason})"

    b, c = path(cases.CASE_B), path(cases.CASE_C)
    return f"on {b} (B, C, E)" if b == c else f"on {b} (B) and on {c} (C, E)"


def markdown(results, machine) -> str:
    lines = [
        f"Measured {results['date']} on {machine}; medians of {results['repeats']} interleaved "
        f"repetitions, {results['threads']} threads for every contestant. Ratios are how many "
        f"times faster glassnet is. glassnet's per-sample steps (A, S) ran on "
        f"{results.get('per_sample_path', 'numpy')}; its mini-batches "
        f"{results.get('mini_batch_path', 'on NumPy')}. Targets are issue 15's.",
        "",
        "| case | measure | glassnet | scikit-learn | PyTorch | vs scikit-learn | vs PyTorch |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]

    def get(case, name, key):
        return results.get(case, {}).get(name, {}).get(key)

    def numpy_row(case, key, label, higher_is_better=False):
        """glassnet's NumPy path beside its default, and its own ratios to the peers."""
        numpy_value, mine = get(case, contestants.NUMPY_PATH, key), get(case, "glassnet", key)
        if numpy_value is None:
            return
        speedup = ratio(numpy_value, mine, higher_is_better)
        lines.append(
            f"| | {label}, glassnet's NumPy path (the default: {fmt(speedup)}× faster) | "
            f"{fmt(numpy_value)} | | | "
            f"{fmt(ratio(get(case, 'scikit-learn', key), numpy_value, higher_is_better))}× | "
            f"{fmt(ratio(get(case, 'PyTorch', key), numpy_value, higher_is_better))}× |"
        )

    compiled = results.get("compile")
    if compiled:
        first, cached = compiled["first"], compiled["cached"]
        lines.append(
            "| compiling the kernels (numba, cache=True) | seconds: first run with an empty "
            "cache / later runs from the cache (per-sample float64 + mini-batch float64 + "
            f"float32) | {fmt(first['total'])} / {fmt(cached['total'])} | | | | |"
        )

    for key, label in [
        ("A", "A. seed algorithm, batch 1, the post's fixed order"),
        ("A shuffled", "A. the same, reshuffled every epoch"),
    ]:
        if key not in results:
            continue
        mine = get(key, "glassnet", "us_per_step")
        sklearn_us = get(key, "scikit-learn", "us_per_step")
        torch_us = get(key, "PyTorch", "us_per_step")
        vs_sklearn = verdict(ratio(sklearn_us, mine), TARGETS["A"]["scikit-learn"])
        vs_torch = verdict(ratio(torch_us, mine), TARGETS["A"]["PyTorch"])
        lines.append(
            f"| {label} | µs per step | {fmt(mine)} | {fmt(sklearn_us)} | {fmt(torch_us)} | "
            f"{vs_sklearn} | {vs_torch} |"
        )
        numpy_row(key, "us_per_step", "µs per step")
    if "B" in results:
        mine = get("B", "glassnet", "seconds")
        sklearn_seconds = get("B", "scikit-learn", "seconds")
        torch_seconds = get("B", "PyTorch", "seconds")
        vs_sklearn = verdict(ratio(sklearn_seconds, mine), TARGETS["B"]["scikit-learn"])
        vs_torch = verdict(ratio(torch_seconds, mine), TARGETS["B"]["PyTorch"])
        lines.append(
            f"| B. moons, ReLU, Adam, batch 32, 100 epochs | seconds | {fmt(mine)} | "
            f"{fmt(sklearn_seconds)} | {fmt(torch_seconds)} | {vs_sklearn} | {vs_torch} |"
        )
        numpy_row("B", "seconds", "seconds")
        lines.append(
            "| | test accuracy (median of the timed runs) | "
            f"{fmt(get('B', 'glassnet', 'accuracy'), 4)} | "
            f"{fmt(get('B', 'scikit-learn', 'accuracy'), 4)} | "
            f"{fmt(get('B', 'PyTorch', 'accuracy'), 4)} | | |"
        )
        if get("B", "glassnet", "accuracies"):

            def spread(name):
                if get("B", name, "accuracies") is None:
                    return "—"
                middle = get("B", name, "accuracy_median")
                mean = get("B", name, "accuracy_mean")
                sem = get("B", name, "accuracy_sem")
                return f"{middle:.4f} ({mean:.4f} ± {sem:.4f})"

            def equal_or_better(name):
                if get("B", name, "accuracies") is None:
                    return "—"
                return (
                    "median ≥ peer's ✓"
                    if get("B", "glassnet", "accuracy_median") >= get("B", name, "accuracy_median")
                    else "median < peer's ✗"
                )

            count = len(get("B", "glassnet", "accuracies"))
            lines.append(
                f"| | test accuracy over seeds 0-{count - 1}: median (mean ± standard error) | "
                f"{spread('glassnet')} | {spread('scikit-learn')} | {spread('PyTorch')} | "
                f"{equal_or_better('scikit-learn')} | {equal_or_better('PyTorch')} |"
            )
    if "C" in results:
        mine = get("C", "glassnet", "samples_per_second")
        sklearn_rate = get("C", "scikit-learn", "samples_per_second")
        torch_rate = get("C", "PyTorch", "samples_per_second")
        vs_sklearn = fmt(ratio(sklearn_rate, mine, True))
        vs_torch = verdict(ratio(torch_rate, mine, True), TARGETS["C"]["PyTorch"])
        lines.append(
            f"| C. 784-512-256-10, float32, Adam, batch 256 | samples/s | {fmt(mine)} | "
            f"{fmt(sklearn_rate)} | {fmt(torch_rate)} | {vs_sklearn}× | {vs_torch} |"
        )
        numpy_row("C", "samples_per_second", "samples/s", higher_is_better=True)
        peak = results["C"]["matmul_peak_gflops"]
        fraction = get("C", "glassnet", "fraction_of_peak")
        peak_met = "✓" if fraction >= TARGETS["C"]["peak"] else "✗"
        sklearn_fraction = get("C", "scikit-learn", "fraction_of_peak")
        if get("C", "PyTorch", "gflops"):
            torch_fraction = get("C", "PyTorch", "fraction_of_peak")
            torch_cell = f"{fmt(get('C', 'PyTorch', 'gflops'))} ({torch_fraction:.0%})"
        else:
            torch_cell = "—"
        lines.append(
            f"| | GFLOP/s (fraction of NumPy's {fmt(peak)} GFLOP/s matmul peak on the same "
            f"shapes) | {fmt(get('C', 'glassnet', 'gflops'))} ({fraction:.0%}, target ≥ "
            f"{TARGETS['C']['peak']:.0%} {peak_met}) | "
            f"{fmt(get('C', 'scikit-learn', 'gflops'))} ({sklearn_fraction:.0%}) | "
            f"{torch_cell} | | |"
        )
        numpy_fraction = get("C", contestants.NUMPY_PATH, "fraction_of_peak")
        if numpy_fraction is not None:
            lines.append(
                f"| | GFLOP/s, glassnet's NumPy path | "
                f"{fmt(get('C', contestants.NUMPY_PATH, 'gflops'))} ({numpy_fraction:.0%}) "
                "| | | | |"
            )
        lines.append(
            "| | test accuracy | "
            f"{fmt(get('C', 'glassnet', 'accuracy'), 4)} | "
            f"{fmt(get('C', 'scikit-learn', 'accuracy'), 4)} | "
            f"{fmt(get('C', 'PyTorch', 'accuracy'), 4)} | | |"
        )
    if "D" in results:
        for key, label, target in [
            ("moons_latency_us", "D. predict one sample (moons network) | µs", True),
            ("mnist_like_latency_us", "D. predict one sample (784-512-256-10) | µs", False),
        ]:
            mine = get("D", "glassnet", key)
            vs_sklearn = ratio(get("D", "scikit-learn", key), mine)
            if target:
                vs_sklearn_cell = verdict(vs_sklearn, TARGETS["D"]["scikit-learn"])
            else:
                vs_sklearn_cell = fmt(vs_sklearn) + "×"
            vs_torch = fmt(ratio(get("D", "PyTorch", key), mine))
            lines.append(
                f"| {label} | {fmt(mine)} | {fmt(get('D', 'scikit-learn', key))} | "
                f"{fmt(get('D', 'PyTorch', key))} | {vs_sklearn_cell} | {vs_torch}× |"
            )
        for key, label in [
            ("moons_throughput", "moons network"),
            ("mnist_like_throughput", "784-512-256-10"),
        ]:
            mine = get("D", "glassnet", key)
            sklearn_rate = get("D", "scikit-learn", key)
            torch_rate = get("D", "PyTorch", key)
            vs_sklearn = fmt(ratio(sklearn_rate, mine, True))
            vs_torch = fmt(ratio(torch_rate, mine, True))
            lines.append(
                f"| D. predict 10k samples ({label}) | samples/s | {fmt(mine)} | "
                f"{fmt(sklearn_rate)} | {fmt(torch_rate)} | {vs_sklearn}× | {vs_torch}× |"
            )
    if "S" in results:
        mine = get("S", "glassnet", "seconds")
        numpy_seconds = get("S", contestants.NUMPY_PATH, "seconds")
        lines.append(
            "| S. the demo's seed experiment: 500 epochs, batch 1, validation every epoch | "
            f"seconds (glassnet's NumPy path: {fmt(numpy_seconds)} s, "
            f"{fmt(ratio(numpy_seconds, mine))}× slower) | {fmt(mine)} | | | | |"
        )
        numpy_accuracy = fmt(get("S", contestants.NUMPY_PATH, "accuracy"), 4)
        lines.append(
            f"| | test accuracy (NumPy path: {numpy_accuracy}) | "
            f"{fmt(get('S', 'glassnet', 'accuracy'), 4)} | | | | |"
        )
        skipped = get("S", post.NAME, "skipped")
        post_seconds = get("S", post.NAME, "seconds")
        if skipped:
            lines.append(f"| S. the blog post's own code | skipped: {skipped} | | | | | |")
        elif post_seconds is not None:
            faster = verdict(ratio(post_seconds, mine), TARGETS["S"][post.NAME])
            post_accuracy = fmt(get("S", post.NAME, "accuracy"), 4)
            lines.append(
                "| S. the blog post's own code, the same 500 epochs (its per-epoch error over "
                "the training set; patches in latest.json) | seconds (its test accuracy: "
                f"{post_accuracy}); glassnet {faster} | {fmt(post_seconds)} | | | | |"
            )
    if "E" in results:
        mine = get("E", "glassnet", "peak")
        torch_peak = get("E", "PyTorch", "peak")
        met = "" if torch_peak is None else (" ✓" if mine <= torch_peak else " ✗")
        lines.append(
            f"| E. training C, 5 epochs | peak RSS, MB (target ≤ PyTorch's){met} | {fmt(mine)} | "
            f"{fmt(get('E', 'scikit-learn', 'peak'))} | {fmt(torch_peak)} | | |"
        )
        numpy_peak = get("E", contestants.NUMPY_PATH, "peak")
        if numpy_peak is not None:
            lines.append(f"| | peak RSS, MB, glassnet's NumPy path | {fmt(numpy_peak)} | | | | |")
        lines.append(
            "| | growth while training, MB | "
            f"{fmt(get('E', 'glassnet', 'training_increase'))} | "
            f"{fmt(get('E', 'scikit-learn', 'training_increase'))} | "
            f"{fmt(get('E', 'PyTorch', 'training_increase'))} | | |"
        )
        lines.append(
            "| | RSS spread over epochs 1-5, MB (flat = 0) | "
            f"{fmt(get('E', 'glassnet', 'epoch_spread'))} | "
            f"{fmt(get('E', 'scikit-learn', 'epoch_spread'))} | "
            f"{fmt(get('E', 'PyTorch', 'epoch_spread'))} | | |"
        )
    if torch is None:
        lines += [
            "",
            "PyTorch is not installed, so its column is empty (`make bench` installs "
            "torch==2.13.0, the CPU build).",
        ]
    return "\n".join(lines) + "\n"


def update_readme(table: str) -> None:
    readme = HERE / "README.md"
    text = readme.read_text()
    new = re.sub(
        r"(<!-- results -->\n).*?(<!-- /results -->)",
        lambda m: m.group(1) + table + m.group(2),
        text,
        flags=re.S,
    )
    readme.write_text(new)


def processor() -> str:
    """The CPU as Linux describes it (a virtual machine's model name can be as bare as "AMD
    EPYC", so its family, model and widest vector instructions come along): results on one
    machine are not another's, and case B's ratio moved from 7.6x to 10-12x between two."""
    try:
        with open("/proc/cpuinfo") as handle:
            fields = dict(
                (key.strip(), value.strip())
                for key, _, value in (line.partition(":") for line in handle)
                if key.strip() in ("model name", "cpu family", "model", "flags")
            )
    except OSError:
        return platform.processor() or "cpu"
    flags = fields.get("flags", "").split()
    vectors = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    return (
        f"{fields.get('model name', 'cpu')}, family {fields.get('cpu family', '?')} "
        f"model {fields.get('model', '?')}, {vectors}"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cases", default="ABCDES")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument(
        "--seed-dir",
        help="the folder with the blog post, for case S (default: ../shared/seed from the "
        "repository's root, or GLASSNET_SEED_DIR)",
    )
    parser.add_argument(
        "--accuracy-seeds",
        type=int,
        default=20,
        help="seeds for case B's accuracy comparison (0: skip it)",
    )
    parser.add_argument(
        "--no-readme", action="store_true", help="do not rewrite the table in benchmarks/README.md"
    )
    parser.add_argument(
        "--worker", nargs=3, metavar=("CASE", "CONTESTANT", "SEED"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.seed_dir:  # the workers read it from their environment
        os.environ["GLASSNET_SEED_DIR"] = str(Path(args.seed_dir).resolve())

    if args.worker:
        case, name, seed = args.worker
        if name == "PyTorch":
            torch.set_num_threads(args.threads)
        print(json.dumps(measure(case, name, int(seed))))
        return 0
    contestant_names = names(args)
    machine = (
        f"{platform.machine()}, {os.cpu_count()} cores ({processor()}), "
        f"Python {platform.python_version()}, NumPy {np.__version__}, glassnet {gn.__version__}"
    )
    import sklearn

    machine += f", scikit-learn {sklearn.__version__}" + (
        f", PyTorch {torch.__version__}" if torch is not None else ""
    )
    reason = gn.experiments.seed_network(0).compiled_training()
    update_reason = gn.experiments.seed_network(0).compiled_update()
    results = {
        "per_sample_path": "the compiled kernel (numba)" if reason is None else f"NumPy ({reason})",
        "mini_batch_path": mini_batch_paths(reason, update_reason),
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine,
        "repeats": args.repeats,
        "threads": args.threads,
    }
    print(
        f"glassnet benchmarks: {', '.join(contestant_names)}; {args.repeats} repetitions; "
        f"{machine}",
        flush=True,
    )
    if reason is None:
        results["compile"] = compile_times(args.threads)
        print(f"compile times: {results['compile']}", flush=True)
    plan = [case for case in ("A", "A shuffled", "B", "C", "D", "S") if case[0] in args.cases]
    for case in plan:
        results[case] = run_case(case, contestant_names, args.repeats, args.threads)
        print(f"{case} done", flush=True)
        if case == "B" and args.accuracy_seeds:
            # one test accuracy varies by a few samples from seed to seed: compare many seeds
            for name in contestant_names:
                accuracies = run_measurement("B accuracy", name, args.accuracy_seeds, args.threads)[
                    "accuracies"
                ]
                results[case][name]["accuracies"] = accuracies
                results[case][name]["accuracy_median"] = median(accuracies)
                results[case][name]["accuracy_mean"] = float(np.mean(accuracies))
                results[case][name]["accuracy_sem"] = float(
                    np.std(accuracies, ddof=1) / np.sqrt(len(accuracies))
                )
            print("B accuracy done", flush=True)
    if "E" in args.cases:
        results["E"] = case_e(contestant_names, args.threads)
        print("E done", flush=True)
    table = markdown(results, machine)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=1))
    (out / "latest.md").write_text(table)
    if not args.no_readme:
        update_readme(table)
    print()
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
