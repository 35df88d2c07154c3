"""``glassnet study``: the seed's configuration over many seeds, beside a modern one.

Writes ``seed-study.json`` (every run, with each seed run's monitored dynamics and the comparison
of stalled runs with those that learned), ``seed-study.png`` (accuracy distributions and what a
stalled run's loss curve looks like), ``seed-study-dynamics.png`` (per-layer gradient norms,
spreads and saturation of every run; see :mod:`glassnet.study_dynamics`) and ``seed-study.md``
(the write-up) into a folder.
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from typing import Any

import numpy as np

from . import experiments, study_dynamics
from ._version import __version__

__all__ = ["run_study", "write_report"]


def _one(seed: int, seed_epochs: int, modern_epochs: int) -> dict[str, Any]:
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]  # via scikit-learn

    # one BLAS thread: the runs go side by side in processes, whose BLAS threads would
    # otherwise compete for the same cores
    with threadpool_limits(limits=1):
        return {
            "seed": seed,
            "svm": experiments.svm_accuracy(seed),
            "linear": experiments.linear_accuracy(seed),
            "seed_config": study_dynamics.monitored_seed_run(seed, seed_epochs),
            "modern_config": experiments.run_modern(seed, modern_epochs),
        }


def run_study(
    runs: int = 20,
    jobs: int = 1,
    seed_epochs: int = 500,
    modern_epochs: int = 50,
    progress: Callable[[int, int], object] | None = None,
    client: Any = None,
) -> dict[str, Any]:
    """Train both configurations on data seeds ``0 … runs-1``; ``progress(done, total)`` per run.

    The runs go to ``jobs`` local processes or, when ``client`` is given (a
    ``dask.distributed.Client`` or a scheduler address), to a Dask cluster as one task per seed
    (:func:`glassnet.distributed.map_runs`); a seed's results do not depend on where it ran.
    """
    results: list[dict[str, Any]] = []
    if client is not None:
        if jobs != 1:
            raise ValueError(
                f"jobs applies to local processes, not to a Dask client: got jobs={jobs} "
                "with a client (the cluster's workers decide how many runs go at once)"
            )
        from .distributed import map_runs

        run = partial(_one, seed_epochs=seed_epochs, modern_epochs=modern_epochs)
        results = map_runs(run, range(runs), client=client, progress=progress)
    elif jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(_one, seed, seed_epochs, modern_epochs) for seed in range(runs)]
            for done, future in enumerate(futures, start=1):
                results.append(future.result())
                if progress:
                    progress(done, runs)
    else:
        for seed in range(runs):
            results.append(_one(seed, seed_epochs, modern_epochs))
            if progress:
                progress(seed + 1, runs)
    return {
        "glassnet_version": __version__,
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"NumPy {np.__version__}" + ("; the runs as Dask tasks" if client is not None else "")
        ),
        "seed_epochs": seed_epochs,
        "modern_epochs": modern_epochs,
        "stall_loss": experiments.STALL_LOSS,
        "runs": results,
    }


def _cpu_time(minutes: float) -> str:
    """``"40 CPU-seconds"``, ``"1 CPU-minute"``, ``"9 CPU-minutes"``."""
    if minutes < 1:
        return f"{minutes * 60:.0f} CPU-seconds"
    return f"{minutes:.0f} CPU-minute{'' if round(minutes) == 1 else 's'}"


def digest(study: dict[str, Any]) -> dict[str, Any]:
    """The numbers the report and the demo quote."""
    runs = study["runs"]
    seed_acc = [r["seed_config"]["accuracy"] for r in runs]
    stalled = [r for r in runs if r["seed_config"]["stalled"]]
    return {
        "runs": len(runs),
        "seed_accuracy": experiments.summary(seed_acc),
        "seed_accuracy_not_stalled": experiments.summary(
            [r["seed_config"]["accuracy"] for r in runs if not r["seed_config"]["stalled"]]
            or [np.nan]
        ),
        "stalled": len(stalled),
        "stalled_seeds": [r["seed"] for r in stalled],
        "stalled_accuracy": experiments.summary([r["seed_config"]["accuracy"] for r in stalled])
        if stalled
        else None,
        "modern_accuracy": experiments.summary([r["modern_config"]["accuracy"] for r in runs]),
        "svm_accuracy": experiments.summary([r["svm"] for r in runs]),
        "seed_seconds": experiments.summary([r["seed_config"]["seconds"] for r in runs]),
        "modern_seconds": experiments.summary([r["modern_config"]["seconds"] for r in runs]),
        "stall_loss": study["stall_loss"],
        "linear_accuracy_of_stalled": [r["linear"] for r in stalled]
        if stalled and "linear" in stalled[0]
        else None,
        "dynamics": _dynamics_digest(study),
    }


def _monitored(study: dict[str, Any]) -> bool:
    """Whether the study's seed runs were monitored (results saved before were not)."""
    return any("dynamics" in r["seed_config"] for r in study["runs"])


def _dynamics_digest(study: dict[str, Any]) -> dict[str, Any] | None:
    """What :func:`study_dynamics.compare` concludes, in brief (None: no run was monitored)."""
    if not _monitored(study):
        return None
    comparison = study_dynamics.compare(study)
    escapes = [e for e in comparison["escape_epochs"].values() if e is not None]
    return {
        "verdict": comparison["verdict"],
        "early_separating": [
            q["claim"]
            for q in comparison["quantities"]
            if q["name"] in comparison["early_separating"]
        ],
        "first_escape": comparison["first_escape"],
        "escape_epochs": experiments.summary(escapes) if escapes else None,
    }


def _plot(study: dict[str, Any], path: str) -> None:
    from .plotting import new_figure, save_figure

    runs = study["runs"]
    figure, (left, right) = new_figure(1, 2, figsize=(13, 5))
    columns = [
        ("seed config\nsigmoid, MSE,\nSGD, batch 1", [r["seed_config"]["accuracy"] for r in runs]),
        (
            "modern config\nReLU, cross-entropy,\nAdam, batch 32",
            [r["modern_config"]["accuracy"] for r in runs],
        ),
        ("RBF SVM\nC=10, gamma=1", [r["svm"] for r in runs]),
    ]
    jitter = np.random.default_rng(0).uniform(-0.08, 0.08, len(runs))
    stalled = np.array([r["seed_config"]["stalled"] for r in runs])
    for position, (_label, values) in enumerate(columns):
        accuracies = np.asarray(values)
        left.boxplot(accuracies, positions=[position], widths=0.5, showfliers=False)
        colours = np.where(stalled, "#d62728", "#1f77b4") if position == 0 else "#1f77b4"
        left.scatter(position + jitter, accuracies, s=18, c=colours, zorder=3, alpha=0.8)
    left.set_xticks(range(len(columns)), [label for label, _ in columns], fontsize=9)
    left.set_ylabel("test accuracy")
    left.set_title(
        f"Test accuracy over {len(runs)} data draws and initialisations\n(stalled seed runs in red)"
    )
    left.grid(axis="y", alpha=0.3)
    for run in runs:
        stalled_run = run["seed_config"]["stalled"]
        right.plot(
            np.arange(1, len(run["seed_config"]["loss_curve"]) + 1),
            run["seed_config"]["loss_curve"],
            color="#d62728" if stalled_run else "#1f77b4",
            alpha=0.9 if stalled_run else 0.35,
            linewidth=1.2,
        )
    right.axhline(study["stall_loss"], color="grey", linestyle="--", linewidth=1)
    right.set_yscale("log")
    right.set_xlabel("epoch")
    right.set_ylabel("training loss (½·Σ(a − y)² per sample)")
    right.set_title("Seed config loss curves: stalled runs in red")
    right.grid(alpha=0.3)
    save_figure(figure, path)


def write_report(study: dict[str, Any], folder: str) -> dict[str, Any]:
    """Write ``seed-study.json``, ``seed-study.png``, ``seed-study-dynamics.png`` (when the runs
    were monitored) and ``seed-study.md`` into ``folder``."""
    os.makedirs(folder, exist_ok=True)
    for run in study["runs"]:  # results saved before this column existed
        run.setdefault("linear", experiments.linear_accuracy(run["seed"]))
    numbers = digest(study)
    comparison = study_dynamics.compare(study) if _monitored(study) else None
    with open(os.path.join(folder, "seed-study.json"), "w") as handle:
        json.dump({**study, "digest": numbers, "comparison": comparison}, handle, indent=1)
    _plot(study, os.path.join(folder, "seed-study.png"))
    if comparison is not None:
        study_dynamics.plot_dynamics(study, os.path.join(folder, "seed-study-dynamics.png"))
    with open(os.path.join(folder, "seed-study.md"), "w") as handle:
        handle.write(_markdown(study, numbers, comparison))
    return numbers


def _escape_epochs(study: dict[str, Any]) -> list[int]:
    """For each run that learned, the first epoch its training loss fell below the stall line."""
    epochs: list[int] = []
    for run in study["runs"]:
        curve = np.asarray(run["seed_config"]["loss_curve"])
        below = np.nonzero(curve < study["stall_loss"])[0]
        if below.size:
            epochs.append(int(below[0]) + 1)
    return epochs


def _list(values: Sequence[float] | None) -> str:
    return ", ".join(f"{v:.3f}" for v in values or [])


def _markdown(
    study: dict[str, Any], d: dict[str, Any], comparison: dict[str, Any] | None = None
) -> str:
    """The write-up, ``seed-study.md``: ``study``, its :func:`digest` ``d`` and, when the runs
    were monitored, :func:`study_dynamics.compare`'s ``comparison``."""
    inside = "" if comparison is None else study_dynamics.markdown(study, comparison)
    return _introduction(study, d) + _findings(study, d) + inside + _every_run(study, d)


def _introduction(study: dict[str, Any], d: dict[str, Any]) -> str:
    """The title, what was run, and the picture."""
    version, machine = study["glassnet_version"], study["machine"]
    return f"""# The seed's configuration, studied

*Written by `glassnet study --runs {d["runs"]}` (glassnet {version}; {machine}).*

The blog post trains a 2-25-50-25-2 network with sigmoid activations everywhere, its own
initialisation (weights `randn * sqrt(1/n_outputs)`, bias `randn * 0.1`), the squared error
`½·Σ(a − y)²`, and plain gradient descent one sample at a time (learning rate 0.01, the
training set in a fixed order) for {study["seed_epochs"]} epochs on `make_moons(3000, noise=0.2)`,
split 80/20. It reports "above 97%" test accuracy. Here it is run on data seeds 0-{d["runs"] - 1}
(the same seed drives the data, the split and the initialisation), beside a modern configuration
of the same network (ReLU, He initialisation, softmax cross-entropy, Adam with learning rate 0.01,
batches of 32, {study["modern_epochs"]} epochs), an RBF SVM (`C=10, gamma=1`) that shows what
each data draw allows, and a logistic regression that shows what a straight boundary gets.

![accuracy distributions and loss curves](seed-study.png)

"""


def _plateau(study: dict[str, Any]) -> float:
    """The median training loss at epoch 30 (or the last epoch, in shorter runs)."""
    return float(
        np.median(
            [
                r["seed_config"]["loss_curve"][min(30, len(r["seed_config"]["loss_curve"]) - 1)]
                for r in study["runs"]
            ]
        )
    )


def _stall_text(d: dict[str, Any]) -> str:
    """How many runs stalled, which, and where they ended."""
    stalled = d["stalled_accuracy"]
    return (
        f"{d['stalled']} of {d['runs']} runs stalled "
        f"(data seeds {', '.join(map(str, d['stalled_seeds']))}), "
        f"ending at {stalled['min']:.3f}-{stalled['max']:.3f} test accuracy"
        if stalled
        else f"none of the {d['runs']} runs stalled"
    )


def _summary_table(study: dict[str, Any], d: dict[str, Any]) -> str:
    """The table of median accuracies and times, one line per configuration."""
    s, m, v = d["seed_accuracy"], d["modern_accuracy"], d["svm_accuracy"]
    seed_row = (
        f"| seed (sigmoid, MSE, SGD, batch 1, {study['seed_epochs']} epochs) "
        f"| {s['median']:.4f} | {s['min']:.4f}-{s['max']:.4f} "
        f"| {d['seed_seconds']['median']:.1f} s |"
    )
    modern_row = (
        f"| modern (ReLU, cross-entropy, Adam, batch 32, {study['modern_epochs']} epochs) "
        f"| {m['median']:.4f} | {m['min']:.4f}-{m['max']:.4f} "
        f"| {d['modern_seconds']['median']:.2f} s |"
    )
    monitored = (
        "\nThe seed configuration's times include its monitor, which looks at every layer on the "
        "whole\ntraining set after every epoch (see *Inside the runs*), and were measured with "
        "the runs going\ntwo at a time (`--jobs 2`: each run on one core).\n"
        if _monitored(study)
        else ""
    )
    return f"""| configuration | median test accuracy | range | median training time |
| --- | --- | --- | --- |
{seed_row}
{modern_row}
| RBF SVM | {v["median"]:.4f} | {v["min"]:.4f}-{v["max"]:.4f} | |
{monitored}"""


def _findings(study: dict[str, Any], d: dict[str, Any]) -> str:
    """The section "What it shows": the summary table and what it means."""
    m = d["modern_accuracy"]
    escapes = _escape_epochs(study)
    if escapes:
        escape_text = (
            f"the runs that learn leave it between\n  epoch {min(escapes)} and epoch "
            f"{max(escapes)} (median {int(np.median(escapes))}), falling to\n  0.02-0.03"
        )
    else:
        escape_text = f"no run left it within\n  its {study['seed_epochs']} epochs"
    plateau = _plateau(study)
    stalled_by = (
        f"The stalled runs are the ones that have not left it by epoch {study['seed_epochs']}."
    )
    inside = (
        "\n  *Inside the runs*, below, shows what goes on on the plateau and whether anything "
        "tells the\n  stalled runs apart from the others."
        if _monitored(study)
        else ""
    )
    stalled_runs_accuracy = _list(
        [r["seed_config"]["accuracy"] for r in study["runs"] if r["seed_config"]["stalled"]]
    )
    return f"""## What it shows

{_summary_table(study, d)}
- **The seed's configuration is fragile.** {_stall_text(d)}. The right panel shows why: *every*
  run's loss drops within a few epochs to a plateau near {plateau:.2f} (by epoch 30 the median
  run is at {plateau:.3f}) and stays there for a long time; {escape_text}. {stalled_by}
  On the plateau the network separates the moons with little more than a straight line: on the
  stalled runs' splits a logistic regression scores {_list(d["linear_accuracy_of_stalled"])},
  the stalled runs {stalled_runs_accuracy}.
  A run counts as stalled when its final training loss is above {d["stall_loss"]}.{inside}
- **When it does not stall it matches the data's limit**: the median of the runs that learned is
  {d["seed_accuracy_not_stalled"]["median"]:.4f}, in line with the SVM.
- **The modern configuration never stalls here** and gets there in a fraction of the time: a
  median of {m["median"]:.4f} in {d["modern_seconds"]["median"]:.2f} s against
  {d["seed_seconds"]["median"]:.1f} s.

"""


def _every_run(study: dict[str, Any], d: dict[str, Any]) -> str:
    """The section "Every run": one table row per data seed, and how to rerun."""
    rows = "\n".join(
        f"| {r['seed']} | {r['seed_config']['accuracy']:.4f}"
        f"{' (stalled)' if r['seed_config']['stalled'] else ''} "
        f"| {r['seed_config']['final_loss']:.4f} | {r['seed_config']['seconds']:.1f} "
        f"| {r['modern_config']['accuracy']:.4f} | {r['modern_config']['seconds']:.2f} "
        f"| {r['svm']:.4f} | {r['linear']:.4f} |"
        for r in study["runs"]
    )
    every_run_header = (
        "| data seed | seed config accuracy | final loss | seconds | modern accuracy | seconds "
        "| SVM | logistic regression |"
    )
    cpu_minutes = d["seed_seconds"]["median"] * d["runs"] / 60
    return f"""## Every run

{every_run_header}
| --- | --- | --- | --- | --- | --- | --- | --- |
{rows}

Rerun with `glassnet study --runs {d["runs"]} --jobs 2` (about {_cpu_time(cpu_minutes)}).
"""
