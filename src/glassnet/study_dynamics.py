"""Inside the seed study's runs: each seed run's dynamics, and what tells stalled runs apart.

:func:`monitored_seed_run` trains the seed's configuration under a
:class:`~glassnet.training.monitor.Monitor` on the whole training set and keeps
:func:`glassnet.diagnosis.run_dynamics`, :func:`glassnet.diagnose`'s sentences and a thinned
trajectory of the per-layer statistics. :func:`compare` sets the runs that stalled beside those
that learned, quantity by quantity, and says which quantities separate the two groups and how
early they are known; :func:`plot_dynamics` draws the trajectories of both groups.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import experiments
from .diagnosis import PLATEAU_MIN_EPOCHS, STATE_STATISTICS, diagnose, run_dynamics
from .training.monitor import Monitor

__all__ = ["Quantity", "compare", "monitored_seed_run", "plot_dynamics", "quantities"]

#: the probe batch is the whole training set (2,400 rows of the 3,000): more rows than it has
PROBE_SIZE = 3000
#: the epochs (0: before training) whose per-layer statistics each run keeps for comparison
AT_EPOCHS = (0, 10, 50, 100)
#: the trajectory kept for the figure: every this many epochs
TRAJECTORY_STEP = 5
#: the trajectory's statistics (per layer)
TRAJECTORY_STATISTICS = ("weight_norm", "grad_norm", "z_std", "saturated")


def monitored_seed_run(seed: int, epochs: int) -> dict[str, Any]:
    """:func:`glassnet.experiments.run_seed` under a monitor that records every epoch, with
    ``"dynamics"``: the run's :class:`~glassnet.diagnosis.RunDynamics` as plain data,
    ``"diagnosis"`` (:func:`glassnet.diagnose`'s sentences) and ``"trajectory"``."""
    monitor = Monitor(probe_size=PROBE_SIZE)
    result = experiments.run_seed(seed, epochs, monitor=monitor)
    dynamics = run_dynamics(monitor, AT_EPOCHS).as_dict()
    dynamics["diagnosis"] = [  # the study keeps no validation set
        line for line in diagnose(monitor) if not line.startswith("no validation loss")
    ]
    dynamics["trajectory"] = _trajectory(monitor)
    result["dynamics"] = dynamics
    return result


def _trajectory(monitor: Monitor) -> dict[str, Any]:
    """Every :data:`TRAJECTORY_STEP`-th record (from epoch 0) and the last, to 4 digits."""
    epochs = np.asarray(monitor.epochs)
    keep = np.nonzero(epochs % TRAJECTORY_STEP == 0)[0]
    if keep.size == 0 or keep[-1] != epochs.size - 1:
        keep = np.append(keep, epochs.size - 1)
    data: dict[str, Any] = {"epoch": [int(e) for e in epochs[keep]]}
    probe_loss = np.asarray(monitor.probe_loss, dtype=float)[keep]
    data["probe_loss"] = [_rounded(v) for v in probe_loss]
    for name in TRAJECTORY_STATISTICS:
        data[name] = [[_rounded(v) for v in row] for row in monitor.series(name)[keep]]
    return data


def _rounded(value: float) -> float | None:
    """``value`` to 4 significant digits (None for NaN: JSON has none)."""
    return float(f"{value:.4g}") if math.isfinite(value) else None


# ---------------------------------------------------------------------- the quantities compared
@dataclass(frozen=True)
class Quantity:
    """One number per run that the comparison looks at.

    ``known_at`` is the epoch by which a run's value is known (0: before training; None: only
    when the run is over, such as the plateau's length); ``outcome`` marks results (final
    accuracy) that are shown but never offered as an explanation.
    """

    name: str
    known_at: int | None
    value: Callable[[dict[str, Any]], float | None]
    outcome: bool = False


def _layer_value(moment: str, statistic: str, layer: int) -> Callable[[dict[str, Any]], Any]:
    def value(run: dict[str, Any]) -> Any:
        state = run["seed_config"]["dynamics"][moment]
        return None if state is None else state[statistic][layer]

    return value


def _at_value(epoch: int, statistic: str, layer: int | None) -> Callable[[dict[str, Any]], Any]:
    def value(run: dict[str, Any]) -> Any:
        state = run["seed_config"]["dynamics"]["at"].get(str(epoch))
        if state is None:
            return None
        return state[statistic] if layer is None else state[statistic][layer]

    return value


def _growth_value(
    statistic: str, layer: int, before: int, after: int
) -> Callable[[dict[str, Any]], Any]:
    def value(run: dict[str, Any]) -> Any:
        at = run["seed_config"]["dynamics"]["at"]
        if str(before) not in at or str(after) not in at:
            return None
        first, last = at[str(before)][statistic][layer], at[str(after)][statistic][layer]
        return None if first is None or last is None or first == 0 else last / first

    return value


def _plateau_value(key: str) -> Callable[[dict[str, Any]], Any]:
    def value(run: dict[str, Any]) -> Any:
        plateau = run["seed_config"]["dynamics"]["plateau"]
        return None if plateau is None else plateau[key]

    return value


def _ratio_value(layer: int) -> Callable[[dict[str, Any]], Any]:
    def value(run: dict[str, Any]) -> Any:
        ratio = run["seed_config"]["dynamics"]["gradient_ratio"]
        return None if ratio is None else ratio[layer]

    return value


_STATISTIC_NAMES = {
    "weight_norm": "weight norm",
    "grad_norm": "gradient norm",
    "z_std": "pre-activation spread (std of z)",
    "saturated": "saturated fraction",
}


def quantities(n_layers: int, at_epochs: Sequence[int] = AT_EPOCHS) -> list[Quantity]:
    """The quantities compared, for a network of ``n_layers`` layers: the logistic regression's
    accuracy on the split (a property of the data draw), each layer's statistics at each epoch
    of ``at_epochs`` and the growth of its weight norm and spread from epoch 50 to 100, the
    plateau's extent and loss, the gradient ratio plateau/start, the saturation and spread on
    the plateau and at the end, and the outcomes."""
    found = [
        Quantity(
            "test accuracy of a logistic regression on the same split", 0, lambda r: r["linear"]
        )
    ]
    for epoch in at_epochs:
        found.append(
            Quantity(f"probe loss at epoch {epoch}", epoch, _at_value(epoch, "loss", None))
        )
        for statistic in STATE_STATISTICS:
            for layer in range(n_layers):
                found.append(
                    Quantity(
                        f"layer {layer + 1} {_STATISTIC_NAMES[statistic]} at epoch {epoch}",
                        epoch,
                        _at_value(epoch, statistic, layer),
                    )
                )
    if 50 in at_epochs and 100 in at_epochs:
        for statistic in ("weight_norm", "z_std"):
            for layer in range(n_layers):
                found.append(
                    Quantity(
                        f"layer {layer + 1} {_STATISTIC_NAMES[statistic]}, epoch 100 / epoch 50",
                        100,
                        _growth_value(statistic, layer, 50, 100),
                    )
                )
    found += [
        Quantity("plateau start (epoch)", None, _plateau_value("start")),
        # when the run left: the outcome, not an explanation of it
        Quantity("plateau end (epoch)", None, _plateau_value("end"), True),
        Quantity("loss on the plateau (median)", None, _plateau_value("loss")),
    ]
    for layer in range(n_layers):
        found.append(
            Quantity(
                f"layer {layer + 1} gradient norm on the plateau / at epoch 0",
                None,
                _ratio_value(layer),
            )
        )
    for moment in ("on_plateau", "end"):
        where = "on the plateau (median)" if moment == "on_plateau" else "at the end"
        for statistic in ("saturated", "z_std"):
            for layer in range(n_layers):
                found.append(
                    Quantity(
                        f"layer {layer + 1} {_STATISTIC_NAMES[statistic]} {where}",
                        None,
                        _layer_value(moment, statistic, layer),
                    )
                )
    found += [
        Quantity("final training loss", None, lambda r: r["seed_config"]["final_loss"], True),
        Quantity("test accuracy", None, lambda r: r["seed_config"]["accuracy"], True),
    ]
    return found


# ---------------------------------------------------------------------- the comparison
def _escape_epoch(run: dict[str, Any], stall_loss: float) -> int | None:
    """The first epoch (from 1) whose training loss is below ``stall_loss``, or None."""
    below = np.nonzero(np.asarray(run["seed_config"]["loss_curve"]) < stall_loss)[0]
    return int(below[0]) + 1 if below.size else None


def _summary(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    array = np.asarray(values, dtype=float)
    return {"median": float(np.median(array)), "min": float(array.min()), "max": float(array.max())}


def _best_split(stalled: np.ndarray, learned: np.ndarray) -> tuple[int, str]:
    """The fewest runs on the wrong side of one threshold, and on which side stalled runs lie
    (``"lower"``: stalled runs below it)."""
    values = np.concatenate([stalled, learned])
    is_stalled = np.concatenate([np.ones(stalled.size, bool), np.zeros(learned.size, bool)])
    best = (values.size, "lower")
    for threshold in np.unique(values):
        below = values <= threshold
        lower = int(np.sum(below != is_stalled))  # stalled ≤ threshold < learned
        higher = int(np.sum(below == is_stalled))  # learned ≤ threshold < stalled
        best = min(best, (lower, "lower"), (higher, "higher"))
    return best


def _rank_correlation(values: list[float], escapes: list[float]) -> float | None:
    """Spearman's rank correlation of ``values`` with the escape epochs (stalled runs ranked
    last, tied), or None when either is constant or there are fewer than 4 runs."""
    if len(values) < 4 or len(set(values)) < 2 or len(set(escapes)) < 2:
        return None
    from scipy.stats import spearmanr

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rho = float(spearmanr(values, escapes).statistic)
    return rho if math.isfinite(rho) else None


def _claim(name: str, side: str, stalled: dict[str, float], learned: dict[str, float]) -> str:
    if side == "lower":
        return (
            f"every stalled run had {name} ≤ {stalled['max']:.4g}, "
            f"every run that learned ≥ {learned['min']:.4g}"
        )
    return (
        f"every stalled run had {name} ≥ {stalled['min']:.4g}, "
        f"every run that learned ≤ {learned['max']:.4g}"
    )


def compare(study: dict[str, Any], chosen: Sequence[Quantity] | None = None) -> dict[str, Any]:
    """The stalled runs beside those that learned, quantity by quantity.

    Parameters
    ----------
    study : dict
        :func:`glassnet.study.run_study`'s result; runs without ``"dynamics"`` (saved before the
        study monitored its runs) are left out.
    chosen : sequence of Quantity, optional
        What to compare (default: :func:`quantities` for the runs' network).

    Returns
    -------
    dict
        ``stalled_seeds``, ``learned_seeds``, ``escape_epochs`` (when each run that learned
        went below the stall line), ``first_escape``; ``quantities``: per quantity its name,
        ``known_at``, ``outcome``, both groups' median, min and max, ``wrong_side`` (the fewest
        runs on the wrong side of any one threshold), ``stalled_side`` (``"lower"`` or
        ``"higher"``), ``separates`` and ``claim`` (a sentence when no run is on the wrong side
        and each group has at least two runs), and ``rank_correlation`` with the escape epoch
        (stalled runs last); ``early_separating``: the names of the separating quantities known
        before ``first_escape``; ``chance``: the probability that one quantity unrelated to
        stalling separates groups of these sizes; ``verdict``: one sentence.
    """
    runs = [r for r in study["runs"] if "dynamics" in r["seed_config"]]
    stall_loss = study["stall_loss"]
    stalled = [r for r in runs if r["seed_config"]["stalled"]]
    learned = [r for r in runs if not r["seed_config"]["stalled"]]
    escapes = {r["seed"]: _escape_epoch(r, stall_loss) for r in learned}
    known_escapes = [e for e in escapes.values() if e is not None]
    first_escape = min(known_escapes) if known_escapes else None
    result: dict[str, Any] = {
        "runs": len(runs),
        "stalled_seeds": [r["seed"] for r in stalled],
        "learned_seeds": [r["seed"] for r in learned],
        "escape_epochs": {str(seed): epoch for seed, epoch in escapes.items()},
        "first_escape": first_escape,
        "quantities": [],
        "early_separating": [],
    }
    if chosen is None:
        n_layers = len(runs[0]["seed_config"]["dynamics"]["layers"]) if runs else 0
        chosen = quantities(n_layers)
    comparable = len(stalled) >= 2 and len(learned) >= 2
    epochs = max((r["seed_config"]["dynamics"]["epochs"] for r in runs), default=0)
    for quantity in chosen:
        pairs = [(r, quantity.value(r)) for r in runs]
        s_values = [float(v) for r, v in pairs if v is not None and r["seed_config"]["stalled"]]
        l_values = [float(v) for r, v in pairs if v is not None and not r["seed_config"]["stalled"]]
        entry: dict[str, Any] = {
            "name": quantity.name,
            "known_at": quantity.known_at,
            "outcome": quantity.outcome,
            "stalled": _summary(s_values),
            "learned": _summary(l_values),
            "wrong_side": None,
            "stalled_side": None,
            "separates": False,
            "claim": None,
            "rank_correlation": None,
        }
        if s_values and l_values:
            wrong, side = _best_split(np.array(s_values), np.array(l_values))
            entry["wrong_side"], entry["stalled_side"] = wrong, side
            if wrong == 0 and comparable and len(set(s_values + l_values)) > 1:
                entry["separates"] = True
                entry["claim"] = _claim(quantity.name, side, entry["stalled"], entry["learned"])
            ranked = [
                (float(v), float(escapes.get(r["seed"]) or epochs + 1))
                for r, v in pairs
                if v is not None
            ]
            entry["rank_correlation"] = _rank_correlation(
                [v for v, _ in ranked], [e for _, e in ranked]
            )
        result["quantities"].append(entry)
    early = [
        q
        for q in result["quantities"]
        if q["separates"]
        and not q["outcome"]
        and q["known_at"] is not None
        and (first_escape is None or q["known_at"] < first_escape)
    ]
    result["early_separating"] = [q["name"] for q in early]
    result["chance"] = (
        2 / math.comb(len(runs), len(stalled)) if comparable else None
    )  # a quantity unrelated to stalling puts the k stalled runs at one end: 2 of C(n, k) orders
    result["verdict"] = _verdict(result, early, comparable)
    return result


def _closeness(entry: dict[str, Any]) -> tuple[int, float]:
    """How near a quantity comes to separating the groups: the fewest runs on the wrong side,
    then the strongest rank correlation with the escape epoch."""
    return entry["wrong_side"], -abs(entry["rank_correlation"] or 0.0)


def _verdict(result: dict[str, Any], early: list[dict[str, Any]], comparable: bool) -> str:
    stalled, learned = len(result["stalled_seeds"]), len(result["learned_seeds"])
    if not comparable:
        return (
            f"{stalled} run(s) stalled and {learned} learned: too few in a group (at least two "
            "each) to say what separates them"
        )
    before = (
        f"before epoch {result['first_escape']} (when the first run left the plateau)"
        if result["first_escape"] is not None
        else "during the runs"
    )
    if not early:
        first = result["first_escape"]
        closest = min(
            (
                q
                for q in result["quantities"]
                if not q["outcome"]
                and q["known_at"] is not None
                and (first is None or q["known_at"] < first)
                and q["wrong_side"] is not None
            ),
            key=_closeness,
            default=None,
        )
        text = (
            f"nothing measured {before} separates the {stalled} stalled runs from the {learned} "
            "that learned"
        )
        if closest is not None:
            text += (
                f": the closest, {closest['name']}, leaves {closest['wrong_side']} run(s) on the "
                "wrong side of its best threshold"
            )
        return text
    return f"known {before}: " + "; ".join(q["claim"] for q in early)


# ---------------------------------------------------------------------- the figure
def plot_dynamics(study: dict[str, Any], path: str) -> None:
    """Per layer, the gradient norm, the pre-activations' spread and the saturated fraction over
    the epochs, the stalled runs in red and those that learned in blue
    (``seed-study-dynamics.png``)."""
    from .plotting import new_figure, save_figure

    runs = [r for r in study["runs"] if "dynamics" in r["seed_config"]]
    n_layers = len(runs[0]["seed_config"]["dynamics"]["layers"]) if runs else 1
    rows = (
        ("grad_norm", "‖∂L/∂W‖, whole training set", True),
        ("z_std", "std of z", True),
        ("saturated", "saturated fraction", False),
    )
    figure, grid = new_figure(len(rows), n_layers, figsize=(4 * n_layers, 9))
    axes = np.asarray(grid).reshape(len(rows), n_layers)
    for run in sorted(runs, key=lambda r: r["seed_config"]["stalled"]):  # stalled drawn on top
        trajectory = run["seed_config"]["dynamics"]["trajectory"]
        stalled = run["seed_config"]["stalled"]
        for row, (name, _label, _log) in enumerate(rows):
            values = np.array(trajectory[name], dtype=float)
            for layer in range(n_layers):
                axes[row][layer].plot(
                    trajectory["epoch"],
                    values[:, layer],
                    color="#d62728" if stalled else "#1f77b4",
                    alpha=0.9 if stalled else 0.35,
                    linewidth=1.2 if stalled else 0.9,
                )
    for layer in range(n_layers):
        title = runs[0]["seed_config"]["dynamics"]["layers"][layer] if runs else ""
        axes[0][layer].set_title(title, fontsize=10)
        axes[-1][layer].set_xlabel("epoch")
        for row, (_name, label, log) in enumerate(rows):
            ax = axes[row][layer]
            if log:
                ax.set_yscale("log")
            else:
                ax.set_ylim(-0.02, 1.02)
            if layer == 0:
                ax.set_ylabel(label)
            ax.grid(alpha=0.3)
    figure.suptitle("Seed config, inside each run: stalled runs in red, runs that learned in blue")
    save_figure(figure, path)


# ---------------------------------------------------------------------- the write-up
def _range(summary: dict[str, float] | None, digits: str = ".3g") -> str:
    if summary is None:
        return "–"
    return f"{summary['median']:{digits}} ({summary['min']:{digits}}–{summary['max']:{digits}})"


def _by_name(comparison: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {q["name"]: q for q in comparison["quantities"]}


def _group_values(study: dict[str, Any], value: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    """``value`` of every monitored run, as lists for the stalled runs and those that learned."""
    groups: dict[str, list[float]] = {"stalled": [], "learned": []}
    for run in study["runs"]:
        if "dynamics" not in run["seed_config"]:
            continue
        v = value(run)
        if v is not None:
            groups["stalled" if run["seed_config"]["stalled"] else "learned"].append(float(v))
    return groups


def _table_row(entry: dict[str, Any]) -> str:
    rho = entry["rank_correlation"]
    wrong = "–" if entry["wrong_side"] is None else str(entry["wrong_side"])
    return (
        f"| {entry['name']} | {_range(entry['stalled'])} | {_range(entry['learned'])} "
        f"| {wrong} | {'–' if rho is None else f'{rho:+.2f}'} |"
    )


def _table(entries: list[dict[str, Any]]) -> str:
    header = (
        "| quantity | stalled runs: median (range) | runs that learned: median (range) "
        "| runs on the wrong side of the best threshold | rank correlation with the escape epoch |"
    )
    return "\n".join([header, "| --- | --- | --- | --- | --- |", *(_table_row(e) for e in entries)])


def markdown(study: dict[str, Any], comparison: dict[str, Any]) -> str:
    """The section "Inside the runs" of ``seed-study.md``: what happens on the plateau, how runs
    leave it, and what distinguishes those that stall, with the numbers of ``comparison``."""
    runs = [r for r in study["runs"] if "dynamics" in r["seed_config"]]
    if not runs:
        return ""
    return (
        _inside_introduction(comparison)
        + _in_short(study, runs, comparison)
        + _on_the_plateau(study, runs)
        + _leaving(study, runs, comparison)
        + _distinguishing(comparison)
    )


def _inside_introduction(comparison: dict[str, Any]) -> str:
    return f"""## Inside the runs

Every seed run above was watched by a `glassnet.Monitor` with the whole training set as its probe
batch, recording once before training and after every epoch each layer's weight norm, the norm of
the gradient of the training loss with respect to its weights, the spread (standard deviation) of
its pre-activations `z` and the fraction of its units that are saturated (derivative below 5% of
its largest value on most samples). `glassnet.diagnosis.run_dynamics` sums each run up and
`glassnet.study_dynamics.compare` sets the {len(comparison["stalled_seeds"])} stalled runs beside
the {len(comparison["learned_seeds"])} that learned; every number below is in `seed-study.json`
(`runs[i].seed_config.dynamics` and `comparison`).

![per layer, the gradient norm, the pre-activations' spread and the saturated fraction over the
epochs, stalled runs in red](seed-study-dynamics.png)

"""


def _in_short(study: dict[str, Any], runs: list[dict[str, Any]], comparison: dict[str, Any]) -> str:
    """The explanation in a paragraph, each clause from the numbers below it."""
    starts = _all_values(study, _plateau_value("start"))
    levels = _all_values(study, _plateau_value("loss"))
    escapes = [e for e in comparison["escape_epochs"].values() if e is not None]
    if not starts or not escapes or not comparison["stalled_seeds"]:
        return ""
    n_layers = len(runs[0]["seed_config"]["dynamics"]["layers"])
    start = _medians(study, "start", "grad_norm", n_layers)
    epochs = max(r["seed_config"]["dynamics"]["epochs"] for r in runs)
    text = (
        f"**In short.** Every run falls by epoch {max(starts):.0f} onto the same plateau (loss "
        f"{min(levels):.3f}-{max(levels):.3f}), where the hidden sigmoids work in their nearly "
        "straight middle and the network draws about the logistic regression's boundary. "
        "Bending it takes the first layer's units spreading out, and the first layer's gradient "
        f"is the smallest of all (before training {start[-1] / start[0]:.0f} times smaller than "
        "the output layer's), so that happens slowly: the runs that learned left between epoch "
        f"{min(escapes)} and {max(escapes)}, and the {len(comparison['stalled_seeds'])} stalled "
        f"runs are those that had not by epoch {epochs}."
    )
    strongest = _strongest(comparison)
    if comparison["early_separating"]:
        text += f" Known early: {comparison['verdict'].split(': ', 1)[-1]}."
    elif strongest is not None and abs(strongest["rank_correlation"]) >= 0.5:
        text += (
            " Nothing known before training or by epoch "
            f"{max(e for e in AT_EPOCHS if e < (comparison['first_escape'] or epochs))} tells the "
            "stalled runs apart; the best early sign, "
            f"{strongest['name']}, goes with when they leave (rank correlation "
            f"{strongest['rank_correlation']:+.2f}) but overlaps between the groups, so the "
            "stalled runs look like the slow end of one spread of escape times rather than a "
            "different kind of run. Whether they would leave given more epochs, this study "
            f"(which stops at {epochs}) does not show."
        )
    else:
        text += " Nothing known before training or early in the run tells them apart."
    return text + "\n\n"


def _medians(study: dict[str, Any], moment: str, statistic: str, n_layers: int) -> list[float]:
    """Per layer, the median over all runs of ``statistic`` at ``moment`` (NaN: none)."""
    found = []
    for layer in range(n_layers):
        groups = _group_values(study, _layer_value(moment, statistic, layer))
        every = groups["stalled"] + groups["learned"]
        found.append(float(np.median(every)) if every else math.nan)
    return found


def _listed(values: Sequence[float], digits: str = ".2g") -> str:
    return ", ".join("–" if not math.isfinite(v) else f"{v:{digits}}" for v in values)


def _all_values(study: dict[str, Any], value: Callable[[dict[str, Any]], Any]) -> list[float]:
    groups = _group_values(study, value)
    return groups["stalled"] + groups["learned"]


def _on_the_plateau(study: dict[str, Any], runs: list[dict[str, Any]]) -> str:
    n_layers = len(runs[0]["seed_config"]["dynamics"]["layers"])
    hidden = n_layers - 1
    with_plateau = [r for r in runs if r["seed_config"]["dynamics"]["plateau"] is not None]
    lines = ["### What happens on the plateau", ""]
    if not with_plateau:
        epochs = runs[0]["seed_config"]["dynamics"]["epochs"]
        return f"No run has a plateau of {PLATEAU_MIN_EPOCHS} epochs or more in its {epochs}.\n\n"
    starts = _summary(_all_values(study, _plateau_value("start")))
    levels = _summary(_all_values(study, _plateau_value("loss")))
    lines.append(
        f"- **Every run gets there.** {len(with_plateau)} of {len(runs)} runs have a plateau "
        f"(the first stretch of at least {PLATEAU_MIN_EPOCHS} epochs over which the loss moves by "
        f"less than 2% per 20 epochs): it starts at epoch {_range(starts, '.0f')} (median and "
        f"range), at a loss of {_range(levels, '.3f')}."
    )
    start = _medians(study, "start", "grad_norm", n_layers)
    on = _medians(study, "on_plateau", "grad_norm", n_layers)
    ratios = [_summary(_all_values(study, _ratio_value(layer))) for layer in range(n_layers)]
    lines.append(
        "- **The gradient that would bend the boundary is tiny, and stays so.** Before training "
        f"the layers' gradient norms are (median over the runs, layer 1 to {n_layers}) "
        f"{_listed(start)}: the first layer's is {start[-1] / start[0]:.0f} times smaller than "
        "the output layer's, since each sigmoid on the way back multiplies it by its derivative, "
        "at most 0.25. "
        f"On the plateau they are {_listed(on)}; as a multiple of their value before training, "
        "layer by layer (median, range): "
        + "; ".join(f"layer {i + 1} {_range(r, '.2g')}" for i, r in enumerate(ratios))
        + "."
        + _gradient_reading(ratios, on)
    )
    saturated = {
        moment: _medians(study, moment, "saturated", n_layers)
        for moment in ("start", "on_plateau", "end")
    }
    spread = {
        moment: _medians(study, moment, "z_std", n_layers) for moment in ("start", "on_plateau")
    }
    hidden_saturated = max(
        max(_all_values(study, _layer_value(moment, "saturated", layer)), default=0.0)
        for moment in ("start", "on_plateau", "end")
        for layer in range(hidden)
    )
    units = (
        "- **The hidden units are not saturated: they are nearly linear.** No hidden unit is "
        "saturated in any run, before training, on the plateau or at the end"
        if hidden_saturated == 0
        else f"- **Saturation.** Up to {hidden_saturated:.0%} of a hidden layer's units are "
        "saturated in some run"
    )
    lines.append(
        f"{units} (medians, layers 1 to {n_layers}: {_listed(saturated['start'])} before "
        f"training, {_listed(saturated['on_plateau'])} on the plateau, "
        f"{_listed(saturated['end'])} at the end). On the plateau the pre-activations of layers "
        f"1 to {hidden} spread only {_listed(spread['on_plateau'][:hidden])} (standard "
        f"deviations, medians; {_listed(spread['start'][:hidden])} before training), where a "
        "sigmoid is close to a straight line, so the hidden layers pass on almost linear "
        "functions of the inputs and the network draws little more than a straight boundary, "
        "the logistic regression's."
    )
    lines.append("")
    stalled = [r for r in runs if r["seed_config"]["stalled"]]
    learned = [r for r in runs if not r["seed_config"]["stalled"]]
    for label, group in (("a stalled run", stalled), ("a run that learned", learned)):
        if group:
            run = group[0]
            quoted = "\n".join(
                f"> - {line}" for line in run["seed_config"]["dynamics"]["diagnosis"]
            )
            lines += [f"`glassnet.diagnose` on {label} (data seed {run['seed']}):", "", quoted, ""]
    return "\n".join(lines) + "\n"


def _gradient_reading(ratios: list[dict[str, float] | None], on: list[float]) -> str:
    """What the ratios plateau/start say, when the first layer's and the output layer's differ
    (``on``: the layers' median gradient norms on the plateau)."""
    first, last = ratios[0], ratios[-1]
    if first is None or last is None or first["median"] <= 2 * last["median"]:
        return ""
    smallest = " but is still the smallest of all" if on[0] == min(on) else ""
    return (
        f" The output layer's gradient has fallen (median ×{last['median']:.2g}): along a "
        "straight boundary it has little left to learn. The first layer's, the one that would "
        f"have to bend the boundary, has {'grown' if first['median'] > 1 else 'fallen less'} "
        f"(×{first['median']:.2g}){smallest}."
    )


def _first_layer_story(study: dict[str, Any], runs: list[dict[str, Any]]) -> str:
    """How the first layer's weight norm and spread moved, in numbers: whether it grew at every
    kept epoch, whether the stalled runs' still grew at the end, how far the runs that learned
    spread out of the linear middle."""
    checkpoints = [str(e) for e in AT_EPOCHS]
    norms = []
    for run in runs:
        at = run["seed_config"]["dynamics"]["at"]
        if all(e in at for e in checkpoints):
            norms.append([at[e]["weight_norm"][0] for e in checkpoints])
    if not norms:
        return ""
    growing = sum(all(b > a for a, b in itertools.pairwise(row)) for row in norms)
    medians = np.median(np.array(norms), axis=0)
    text = (
        f" In {growing} of {len(norms)} runs the first layer's weight norm grew from each kept "
        f"epoch to the next (epochs {', '.join(checkpoints)}: medians "
        f"{', '.join(f'{m:.3g}' for m in medians)})"
    )
    stalled = [r for r in runs if r["seed_config"]["stalled"]]
    still = [
        r
        for r in stalled
        if checkpoints[-1] in r["seed_config"]["dynamics"]["at"]
        and r["seed_config"]["dynamics"]["end"]["weight_norm"][0]
        > r["seed_config"]["dynamics"]["at"][checkpoints[-1]]["weight_norm"][0]
    ]
    if stalled:
        text += (
            f", and in {len(still)} of the {len(stalled)} stalled runs it was larger at the end "
            f"than at epoch {checkpoints[-1]}"
        )
    text += "."
    spread = _group_values(study, _layer_value("on_plateau", "z_std", 0))
    end = _group_values(study, _layer_value("end", "z_std", 0))
    if spread["learned"] and end["learned"]:
        text += (
            " The runs that learned left once the first layer's units spread out of their linear "
            "middle: its pre-activations' standard deviation went from "
            f"{_range(_summary(spread['learned']), '.2f')} on the plateau to "
            f"{_range(_summary(end['learned']), '.2f')} at the end (median, range)"
        )
        if end["stalled"]:
            text += f", while the stalled runs ended at {_range(_summary(end['stalled']), '.2f')}"
        text += "."
    return text


def _strongest(comparison: dict[str, Any]) -> dict[str, Any] | None:
    """The quantity known before the first escape most correlated with the escape epoch."""
    first = comparison["first_escape"]
    candidates = [
        q
        for q in comparison["quantities"]
        if not q["outcome"]
        and q["known_at"] is not None
        and (first is None or q["known_at"] < first)
        and q["rank_correlation"] is not None
    ]
    return max(candidates, key=lambda q: abs(q["rank_correlation"]), default=None)


def _leaving(study: dict[str, Any], runs: list[dict[str, Any]], comparison: dict[str, Any]) -> str:
    escapes = comparison["escape_epochs"]
    known = sorted(e for e in escapes.values() if e is not None)
    epochs = max(r["seed_config"]["dynamics"]["epochs"] for r in runs)
    if not known:
        return ""
    strongest = _strongest(comparison)
    lines = [
        "### Leaving it, or not",
        "",
        f"The runs that learned went below the stall line ({study['stall_loss']}) at epochs "
        f"{', '.join(map(str, known))}; the stalled ones had not by epoch {epochs}."
        + _first_layer_story(study, runs),
        "",
        "The runs in the order they left:",
        "",
    ]
    named = [] if strongest is None else [strongest]
    quantity_by_name = {
        q.name: q for q in quantities(len(runs[0]["seed_config"]["dynamics"]["layers"]))
    }
    header = (
        "| data seed | left the plateau at epoch | "
        + "".join(f"{q['name']} | " for q in named)
        + "logistic regression | test accuracy |"
    )
    lines += [header, "| --- " * (4 + len(named)) + "|"]
    ordered = sorted(runs, key=lambda r: escapes.get(str(r["seed"])) or epochs + 1)
    for run in ordered:
        left = escapes.get(str(run["seed"]))
        cells = [str(run["seed"]), str(left) if left is not None else f"not by {epochs} (stalled)"]
        for q in named:
            value = quantity_by_name[q["name"]].value(run)
            cells.append("–" if value is None else f"{value:.4g}")
        cells += [f"{run['linear']:.4f}", f"{run['seed_config']['accuracy']:.4f}"]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    if strongest is not None:
        lines += [_strongest_text(strongest, comparison, ordered, quantity_by_name), ""]
    separating_late = [
        q["claim"]
        for q in comparison["quantities"]
        if q["separates"] and not q["outcome"] and q["known_at"] is None
    ]
    if separating_late:
        lines += [
            "Once the runs are over, some quantities do separate the groups: "
            + "; ".join(separating_late)
            + f". ({_PLATEAU_CAVEAT})",
            "",
        ]
    return "\n".join(lines) + "\n"


#: why the medians "on the plateau" of the two groups do not compare like for like
_PLATEAU_CAVEAT = (
    "A stalled run's plateau lasts to its last epoch, so its medians on the plateau take in "
    "later epochs than those of a run that left it."
)


def _strongest_text(
    strongest: dict[str, Any],
    comparison: dict[str, Any],
    ordered: list[dict[str, Any]],
    quantity_by_name: dict[str, Quantity],
) -> str:
    """What the early quantity most correlated with the escape epoch says, and which runs that
    learned fall among the stalled ones on it."""
    rho = strongest["rank_correlation"]
    direction = "smaller" if rho < 0 else "larger"
    text = (
        f"Of everything known before epoch {comparison['first_escape']}, {strongest['name']} "
        f"goes best with when a run leaves (Spearman's rank correlation {rho:+.2f}, the stalled "
        f"runs counted as the latest): the {direction} it is, the later the run leaves. The "
        f"stalled runs have {_range(strongest['stalled'], '.4g')}, the runs that learned "
        f"{_range(strongest['learned'], '.4g')}."
    )
    if strongest["wrong_side"] == 0:
        return text + " It separates the two groups."
    value = quantity_by_name[strongest["name"]].value
    limit = strongest["stalled"]["max" if rho < 0 else "min"]
    among = [
        r
        for r in ordered
        if not r["seed_config"]["stalled"]
        and value(r) is not None
        and (value(r) <= limit if rho < 0 else value(r) >= limit)
    ]
    escapes = comparison["escape_epochs"]
    if among:
        text += (
            f" It does not split the groups: runs that learned with a value "
            f"{'at or below' if rho < 0 else 'at or above'} the stalled runs' "
            f"{'largest' if rho < 0 else 'smallest'} ({limit:.4g}) are data seeds "
            + ", ".join(f"{r['seed']} (left at epoch {escapes[str(r['seed'])]})" for r in among)
            + "."
        )
    return text


def _distinguishing(comparison: dict[str, Any]) -> str:
    entries = [q for q in comparison["quantities"] if q["wrong_side"] is not None]
    if not entries:
        return ""
    early = [q for q in entries if not q["outcome"] and q["known_at"] is not None]
    early.sort(key=_closeness)
    later = [q for q in entries if q["known_at"] is None and not q["outcome"]]
    outcomes = [q for q in entries if q["outcome"]]
    shown = early[:12]
    lines = [
        "### What distinguishes the runs that stall",
        "",
        f"Of the {len(early)} quantities known before training or at a fixed early epoch "
        f"({', '.join(str(e) for e in AT_EPOCHS)}), the {len(shown)} that come closest to "
        "separating the groups (the fewest runs on the wrong side of one threshold; the rank "
        "correlation is Spearman's with the epoch a run went below the stall line, over all "
        "runs, the stalled ones counted as the latest):",
        "",
        _table(shown),
        "",
        f"**Verdict:** {comparison['verdict']}.",
        "",
    ]
    if comparison["chance"] is not None:
        n = len(early)
        lines += [
            f"What a separation would be worth: with {len(comparison['stalled_seeds'])} stalled "
            f"runs of {comparison['runs']}, one quantity that has nothing to do with stalling "
            f"separates the groups by chance with probability {comparison['chance']:.2%}, so over "
            f"{n} quantities (many of them correlated) about {n * comparison['chance']:.2f} "
            "chance separations are expected.",
            "",
        ]
    lines += [
        "Over the whole run (known only once it is over), and the outcomes:",
        "",
        _table(later + outcomes),
        "",
        f"({_PLATEAU_CAVEAT})",
        "",
    ]
    return "\n".join(lines) + "\n"
