"""Inside the seed study: each run's monitored dynamics, and stalled runs against those that
learned."""

import json

import pytest

from glassnet import study
from glassnet.diagnosis import STATE_STATISTICS
from glassnet.study_dynamics import AT_EPOCHS, Quantity, compare


@pytest.fixture(scope="module")
def tiny_study():
    """Two seeds, 80 epochs of the seed configuration (enough to reach the plateau, too few to
    leave it) and 2 of the modern one: the study's own code path."""
    return study.run_study(2, seed_epochs=80, modern_epochs=2)


def test_each_seed_run_keeps_its_monitored_dynamics(tiny_study):
    for run in tiny_study["runs"]:
        dynamics = run["seed_config"]["dynamics"]
        assert dynamics["epochs"] == 80 and len(dynamics["layers"]) == 4
        plateau = dynamics["plateau"]
        assert 10 <= plateau["start"] <= 30 and plateau["end"] == 80
        assert plateau["left_at"] is None and 0.08 < plateau["loss"] < 0.11
        assert dynamics["start"]["first"] == 0  # the untrained network
        assert dynamics["end"]["first"] == dynamics["end"]["last"] == 80
        on = dynamics["on_plateau"]
        assert (on["first"], on["last"]) == (plateau["start"], plateau["end"])
        ratio = [o / s for o, s in zip(on["grad_norm"], dynamics["start"]["grad_norm"])]
        assert dynamics["gradient_ratio"] == pytest.approx(ratio)
        assert list(dynamics["at"]) == [str(e) for e in AT_EPOCHS if e <= 80]
        for state in (dynamics["start"], on, dynamics["end"], *dynamics["at"].values()):
            assert set(state) == {"first", "last", "loss", *STATE_STATISTICS}
            assert all(len(state[name]) == 4 for name in STATE_STATISTICS)
            assert all(0.0 <= s <= 1.0 for s in state["saturated"])
        assert dynamics["start"]["loss"] > dynamics["end"]["loss"]
        trajectory = dynamics["trajectory"]
        assert trajectory["epoch"] == list(range(0, 81, 5))
        assert len(trajectory["grad_norm"]) == 17 and len(trajectory["grad_norm"][0]) == 4
        assert dynamics["diagnosis"][0].startswith("plateau: the training loss has been flat")
    json.dumps(tiny_study, allow_nan=False)  # plain JSON: no NaN anywhere


def test_the_report_of_a_tiny_study_has_the_comparison_and_the_figure(tiny_study, tmp_path):
    numbers = study.write_report(tiny_study, str(tmp_path))
    assert (tmp_path / "seed-study-dynamics.png").stat().st_size > 0
    written = json.loads((tmp_path / "seed-study.json").read_text())
    comparison = written["comparison"]
    assert comparison["runs"] == 2 and comparison["stalled_seeds"] == [0, 1]  # none left
    assert "too few in a group" in comparison["verdict"]
    assert numbers["dynamics"]["verdict"] == comparison["verdict"]
    assert numbers["dynamics"]["escape_epochs"] is None
    text = (tmp_path / "seed-study.md").read_text()
    assert "](seed-study-dynamics.png)" in text
    assert "**Every run gets there.** 2 of 2 runs have a plateau" in text
    assert "`glassnet.diagnose` on a stalled run (data seed 0):" in text
    assert "### Leaving it, or not" not in text  # no run left


def _run(seed, stalled, linear, early, escape=None, epochs=200):
    """A hand-made study run: a quantity ``linear``, another ``early`` (at epoch 50), and a loss
    curve that goes below the stall line at ``escape`` (never when None)."""
    curve = [0.09] * epochs
    if escape is not None:
        curve[escape - 1 :] = [0.02] * (epochs - escape + 1)
    return {
        "seed": seed,
        "linear": linear,
        "early": early,
        "seed_config": {
            "stalled": stalled,
            "loss_curve": curve,
            "final_loss": curve[-1],
            "accuracy": 0.87 if stalled else 0.97,
            "dynamics": {"epochs": epochs, "layers": ["layer 1"]},
        },
    }


def _study(runs):
    return {"stall_loss": 0.05, "runs": runs}


LINEAR = Quantity("the logistic regression's accuracy", 0, lambda r: r["linear"])
EARLY = Quantity("an early number", 50, lambda r: r["early"])
LATE = Quantity("a late number", 150, lambda r: r["linear"])
ACCURACY = Quantity("test accuracy", None, lambda r: r["seed_config"]["accuracy"], True)


def test_a_quantity_that_separates_the_groups_gives_its_claim():
    runs = [
        _run(0, True, 0.86, 1.0),
        _run(1, True, 0.88, 3.0),
        _run(2, True, 0.87, 2.0),
        _run(3, False, 0.90, 1.5, escape=100),
        _run(4, False, 0.92, 2.5, escape=120),
        _run(5, False, 0.91, 0.5, escape=140),
    ]
    result = compare(_study(runs), [LINEAR, EARLY, LATE, ACCURACY])
    assert result["stalled_seeds"] == [0, 1, 2] and result["learned_seeds"] == [3, 4, 5]
    assert result["escape_epochs"] == {"3": 100, "4": 120, "5": 140}
    assert result["first_escape"] == 100
    linear, early, late, accuracy = result["quantities"]
    assert linear["separates"] and linear["wrong_side"] == 0
    assert linear["stalled_side"] == "lower"
    assert linear["stalled"] == {"median": 0.87, "min": 0.86, "max": 0.88}
    assert linear["claim"] == (
        "every stalled run had the logistic regression's accuracy ≤ 0.88, "
        "every run that learned ≥ 0.9"
    )
    # stalled runs ranked last: the lower the accuracy, the later the escape
    assert linear["rank_correlation"] == pytest.approx(-12.5 / (17.5 * 15.5) ** 0.5)  # by hand
    assert not early["separates"] and early["wrong_side"] == 2 and early["claim"] is None
    assert late["separates"] and accuracy["separates"]
    # known after the first escape, or an outcome: not offered as an early sign
    assert result["early_separating"] == ["the logistic regression's accuracy"]
    assert result["verdict"].startswith("known before epoch 100 (when the first run left")
    assert linear["claim"] in result["verdict"]
    assert result["chance"] == pytest.approx(2 / 20)  # 2 of C(6, 3) orders


def test_when_nothing_separates_the_groups_early_the_verdict_says_so():
    runs = [
        _run(0, True, 0.86, 1.0),
        _run(1, True, 0.90, 3.0),
        _run(2, False, 0.88, 1.5, escape=100),
        _run(3, False, 0.92, 2.5, escape=120),
    ]
    after_escape = Quantity("a sign at epoch 150", 150, lambda r: r["seed_config"]["stalled"])
    result = compare(_study(runs), [LINEAR, EARLY, ACCURACY, after_escape])
    assert result["quantities"][-1]["separates"]  # but too late to be a sign
    assert result["early_separating"] == []
    assert result["verdict"] == (
        "nothing measured before epoch 100 (when the first run left the plateau) separates the "
        "2 stalled runs from the 2 that learned: the closest, the logistic regression's "
        "accuracy, leaves 1 run(s) on the wrong side of its best threshold"
    )


def test_one_stalled_run_is_too_few_to_claim_a_separation():
    runs = [
        _run(0, True, 0.86, 1.0),
        _run(1, False, 0.90, 1.5, escape=100),
        _run(2, False, 0.92, 2.5, escape=120),
    ]
    result = compare(_study(runs), [LINEAR])
    (linear,) = result["quantities"]
    assert linear["wrong_side"] == 0 and not linear["separates"] and linear["claim"] is None
    assert result["chance"] is None
    assert result["verdict"].startswith("1 run(s) stalled and 2 learned: too few")


def test_runs_saved_without_dynamics_are_left_out():
    old = _run(9, True, 0.86, 1.0)
    del old["seed_config"]["dynamics"]
    result = compare(_study([old, _run(1, False, 0.9, 1.0, escape=100)]), [LINEAR])
    assert result["runs"] == 1 and result["stalled_seeds"] == []
