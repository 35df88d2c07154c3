"""``glassnet page``: the page's numbers, controls and safety, checked in a real browser.

The browser tests open generated pages from disk in headless Chromium (Debian's, through
Playwright; the ``chromium`` fixture of conftest.py skips them where it is missing, and fails
them under ``GLASSNET_REQUIRE_BROWSER=1``, as CI runs). The page computes every number itself
from the embedded parameters; here they are compared with glassnet's own in Python.

Screenshots to look at are left in pytest's base temporary folder, under ``page-screenshots``
(``/tmp/pytest-of-$USER/pytest-current/page-screenshots/`` after a run).
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
from glassnet import cli
from glassnet.cli.modelinfo import ModelInfo
from glassnet.files.container import ModelFileError
from glassnet.files.snapshots import read_snapshots, write_snapshots
from glassnet.page import write_page

#: the page's numbers against Python's: float64 with the same formulas, so to the last digits
TOLERANCE = 1e-12

HOSTILE_FEATURES = (
    "<img src=x onerror=window.__pwned=1>",
    "</script><script>window.__pwned=2</script>",
)
HOSTILE_FOLDER = "run<svg onload=window.__pwned=3>"
#: every small map of the plane, as images
MAPS = "Array.from(document.querySelectorAll('.layer-maps canvas'), c => c.toDataURL()).join()"


# ====================================================================== fixtures and helpers
@pytest.fixture(scope="module")
def screenshots(tmp_path_factory):
    """Where the screenshots go: one folder per test session, named in the module docstring."""
    folder = tmp_path_factory.getbasetemp() / "page-screenshots"
    folder.mkdir(exist_ok=True)
    return folder


def shoot(opened: Opened, path: Path) -> None:
    opened.page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    print(f"screenshot: {path}")


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """A short demo run (its page written by default)."""
    folder = tmp_path_factory.mktemp("demo") / "run"
    assert cli.main(["demo", "--epochs", "12", "--out", str(folder), "--quiet"]) == 0
    return folder


class Opened:
    """A page open in the browser, with the console errors and page errors it reported."""

    def __init__(self, browser, path: Path, fragment: str = "") -> None:
        self.errors: list[str] = []
        self.page = browser.new_page(viewport={"width": 1400, "height": 1000})
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on(
            "request",
            lambda r: None if r.url.startswith(("file:", "data:")) else self.errors.append(r.url),
        )
        self.page.goto(path.resolve().as_uri() + fragment)
        self.page.wait_for_function("window.glassnet && window.glassnet.ready")

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.page.close()

    def js(self, expression: str, argument=None):
        return self.page.evaluate(expression, argument)

    def canvas(self, element_id: str) -> str:
        return self.js(f"document.getElementById({element_id!r}).toDataURL()")

    def state(self) -> dict:
        return self.js("window.glassnet.state()")


def page_probabilities(opened: Opened, rows: np.ndarray, epoch: int | None = None) -> np.ndarray:
    return np.array(
        opened.js(
            "([rows, epoch]) => window.glassnet.forwardMany(rows, epoch ?? undefined)"
            ".map(r => r.probabilities)",
            [rows.tolist(), epoch],
        )
    )


def plane_rows(network: gn.NeuralNetwork, n: int = 150) -> np.ndarray:
    """Points over and beyond the moons' box, and a few far away."""
    rng = np.random.default_rng(0)
    inside = rng.uniform([-1.6, -1.1], [2.6, 1.6], size=(n, 2))
    far = np.array([[30.0, -25.0], [-40.0, 40.0], [0.0, 0.0], [1e3, 1e3]])
    return np.concatenate([inside, far])


def network_at(network: gn.NeuralNetwork, parameters: np.ndarray) -> gn.NeuralNetwork:
    earlier = network.copy()
    earlier.parameters[...] = parameters
    return earlier


# ====================================================================== without a browser
def test_snapshots_file_round_trip_and_kinds(tmp_path):
    network = gn.NeuralNetwork.from_sizes([2, 3, 2], random_state=0)
    snapshots = {0: network.parameters.copy(), 5: network.parameters * 2}
    path = tmp_path / "snapshots.safetensors"
    write_snapshots(path, snapshots, [2, 3, 2])
    epochs, sizes, rows = read_snapshots(path)
    assert epochs == [0, 5] and sizes == [2, 3, 2]
    np.testing.assert_array_equal(rows[1], snapshots[5])
    with pytest.raises(ModelFileError, match="holds ParameterSnapshots"):
        gn.load(path)  # never taken for a model
    gn.save(network, tmp_path / "model.safetensors")
    with pytest.raises(ModelFileError, match="holds NeuralNetwork, not ParameterSnapshots"):
        read_snapshots(tmp_path / "model.safetensors")
    with pytest.raises(ValueError, match="has 13 parameters"):
        write_snapshots(path, {1: np.zeros(13)}, [2, 3, 2])


def test_not_a_model_file_is_one_line_and_status_2(tmp_path, capsys):
    bogus = tmp_path / "notes.safetensors"
    bogus.write_text("just some text, not a model\n")
    assert cli.main(["page", str(bogus), "--out", str(tmp_path / "p.html")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("glassnet page: error: ") and "is not a valid glassnet model file" in err
    assert not (tmp_path / "p.html").exists()


def test_a_folder_without_a_model(tmp_path, capsys):
    assert cli.main(["page", str(tmp_path)]) == 2
    assert "holds no model.safetensors" in capsys.readouterr().err


def test_user_strings_cannot_end_the_data_script(tmp_path):
    network = gn.NeuralNetwork.from_sizes([2, 3, 2], random_state=0)
    network.metadata = {
        "cli": {"task": "classification", "features": list(HOSTILE_FEATURES), "classes": [0, 1]}
    }
    path = tmp_path / "page.html"
    write_page(network, path, title="</script><script>window.__pwned=4</script> & <b>")
    text = path.read_text()
    assert "window.__pwned" in text  # the strings are there, as escaped JSON
    assert "<img src=x" not in text and "<script>window" not in text and "<b>" not in text
    assert text.count("</script>") == 2  # the data's and the code's own


def page_document(path: Path) -> dict:
    """The JSON document a page embeds."""
    import json
    import re

    found = re.search(
        r'<script type="application/json" id="glassnet-data">(.*?)</script>', path.read_text(), re.S
    )
    assert found is not None
    return json.loads(found.group(1))


def test_page_of_a_train_run_with_data_from_a_csv(tmp_path, capsys):
    data = tmp_path / "hostile.csv"
    _hostile_csv(data)
    out = tmp_path / "run"
    args = ["train", "--data", data, "--target", "label", "--hidden", "4", "--epochs", "3"]
    assert cli.main([*map(str, args), "--standardize", "--out", str(out), "--quiet"]) == 0
    assert not (out / "page.html").exists() and (out / "snapshots.safetensors").exists()
    # the run's own data, read again: the training part and the validation part
    assert cli.main(["page", str(out)]) == 0
    document = page_document(out / "page.html")
    assert document["epochs"] == [0, 1, 2, 3]
    assert document["replay"] and document["features"] == list(HOSTILE_FEATURES)
    assert document["points"]["train"]["n"] == 128 and document["points"]["test"]["n"] == 32
    # --data: its rows, labelled with the model's classes
    assert cli.main(["page", str(out), "--data", str(data), "--out", str(tmp_path / "d.html")]) == 0
    points = page_document(tmp_path / "d.html")["points"]
    assert points["train"]["n"] == 160 and set(points["train"]["labels"]) == {0, 1}
    # a model file alone: MODEL.html beside it, the final model only
    assert cli.main(["page", str(out / "model.safetensors")]) == 0
    assert "no replay available" in capsys.readouterr().out
    assert page_document(out / "model.html")["epochs"] == [3]


# ====================================================================== the demo's page
def test_demo_page_matches_predict_proba(chromium, demo_run):
    network = gn.load(demo_run / "model.safetensors")
    epochs, _, rows = read_snapshots(demo_run / "snapshots.safetensors")
    x = plane_rows(network)
    with Opened(chromium, demo_run / "page.html") as opened:
        shown = opened.js("window.glassnet.epochs")
        assert shown[-1] == len(network.history) == 12 and shown[:-1] == epochs[:-1]
        final = page_probabilities(opened, x)
        np.testing.assert_allclose(final, network.predict_proba(x), rtol=0, atol=TOLERANCE)
        earlier_epoch = epochs[len(epochs) // 3]
        earlier = network_at(network, rows[epochs.index(earlier_epoch)])
        assert not np.allclose(earlier.predict_proba(x), network.predict_proba(x))
        np.testing.assert_allclose(
            page_probabilities(opened, x, earlier_epoch),
            earlier.predict_proba(x),
            rtol=0,
            atol=TOLERANCE,
        )
        # every unit's z and a, not only the output
        one = opened.js("window.glassnet.forward([0.25, -0.5])")
        z = np.array([[0.25, -0.5]])
        for index, layer in enumerate(network.layers):
            z_layer = z @ layer.weights + layer.bias
            np.testing.assert_allclose(one["z"][index], z_layer[0], rtol=0, atol=TOLERANCE)
            z = layer.activation.forward(z_layer)
            np.testing.assert_allclose(one["a"][index], z[0], rtol=0, atol=TOLERANCE)
        assert opened.errors == []


def test_slider_and_play_change_the_drawing(chromium, demo_run):
    with Opened(chromium, demo_run / "page.html") as opened:
        last = opened.canvas("focus")
        maps = opened.js(MAPS)
        opened.page.locator("#epoch").fill("0")
        assert opened.state()["epoch"] == 0
        assert opened.canvas("focus") != last
        assert opened.js(MAPS) != maps
        assert "epoch 0" in opened.page.locator("#epoch-label").inner_text()
        first = opened.canvas("focus")
        opened.page.locator("#play").click()
        opened.page.wait_for_function("window.glassnet.state().frame >= 3")
        assert opened.state()["playing"] is True
        assert opened.canvas("focus") != first
        opened.page.wait_for_function("!window.glassnet.state().playing", timeout=10_000)
        assert opened.state()["frame"] == len(opened.js("window.glassnet.epochs")) - 1
        assert opened.canvas("focus") == last  # the replay ends at the model as saved
        assert opened.errors == []


def test_the_fragment_restores_the_view(chromium, demo_run, screenshots):
    with Opened(chromium, demo_run / "page.html") as opened:
        epoch = opened.js("window.glassnet.epochs")[4]
        opened.js(f"window.glassnet.setEpoch({epoch})")
        opened.js("window.glassnet.selectUnit(2, 3)")
        opened.js("window.glassnet.setPoint([0.5, -0.25])")
        link = opened.js("location.href")
        state = opened.state()
        drawn = opened.canvas("focus")
        passed = opened.page.locator("#pass").inner_text()
    assert link.endswith("#epoch=" + str(epoch) + "&unit=2.3&point=0.5,-0.25")
    assert "#epoch=" in link and "unit=2.3" in link and "point=0.5,-0.25" in link
    fragment = "#" + link.split("#", 1)[1]
    with Opened(chromium, demo_run / "page.html", fragment) as opened:
        assert opened.state() == state
        assert opened.js("location.hash") == fragment
        assert state["epoch"] == epoch and state["unit"] == [2, 3]
        assert state["point"] == [0.5, -0.25]
        assert opened.canvas("focus") == drawn
        assert opened.page.locator("#pass").inner_text() == passed
        # hovering a weight shows its value
        opened.page.locator("#graph line.hit").first.hover(force=True, timeout=5000)
        tip = opened.page.locator("#tooltip").inner_text()
        assert tip.startswith("weight from input 1 (x1)\nto layer 1 (hidden, sigmoid) unit 1")
        network = gn.load(demo_run / "model.safetensors")
        epochs, _, rows = read_snapshots(demo_run / "snapshots.safetensors")
        shown = network_at(network, rows[epochs.index(epoch)]).layers[0].weights[0, 0]
        assert float(tip.rsplit("= ", 1)[1]) == shown
        shoot(opened, screenshots / "demo-page.png")
        assert opened.errors == []


def test_a_run_without_snapshots_gives_the_final_model(chromium, demo_run, tmp_path, capsys):
    folder = tmp_path / "no-snapshots"
    shutil.copytree(demo_run, folder)
    (folder / "snapshots.safetensors").unlink()
    (folder / "page.html").unlink()
    assert cli.main(["page", str(folder)]) == 0
    assert "no replay available" in capsys.readouterr().out
    network = gn.load(folder / "model.safetensors")
    x = plane_rows(network)
    with Opened(chromium, folder / "page.html") as opened:
        assert opened.js("window.glassnet.epochs") == [12]
        assert "no replay is available" in opened.page.locator("#notes").inner_text()
        assert opened.page.locator("#epoch").is_disabled()
        assert opened.page.locator("#play").is_disabled()
        final = page_probabilities(opened, x)
        np.testing.assert_allclose(final, network.predict_proba(x), rtol=0, atol=TOLERANCE)
        assert opened.errors == []


# ====================================================================== other models
def _hostile_csv(path: Path) -> None:
    from sklearn.datasets import make_moons

    x, y = make_moons(n_samples=160, noise=0.2, random_state=3)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*HOSTILE_FEATURES, "label"])
        for row, label in zip(x * 40 + 100, y):  # far from standardised, to need --standardize
            writer.writerow([*row, label])


def test_a_crafted_csv_header_cannot_inject_script(chromium, tmp_path, screenshots):
    data = tmp_path / "hostile.csv"
    _hostile_csv(data)
    out = tmp_path / HOSTILE_FOLDER
    args = ["train", "--data", data, "--target", "label", "--hidden", "6", "--epochs", "4"]
    assert cli.main([*map(str, args), "--standardize", "--page", "--out", str(out), "--quiet"]) == 0
    assert (out / "snapshots.safetensors").exists()
    assert cli.main(["page", str(out), "--out", str(tmp_path / "again.html")]) == 0
    network = gn.load(out / "model.safetensors")
    scaling = ModelInfo.from_metadata(network.metadata, "model", network).standardize
    raw = np.random.default_rng(1).uniform([50, 50], [190, 130], size=(120, 2))
    for name in ("page.html", "../again.html"):
        text = (out / name).read_text()
        assert "<img src=x" not in text and "<script>window" not in text and "<svg" not in text
        with Opened(chromium, out / name) as opened:
            assert opened.js("typeof window.__pwned") == "undefined"
            shown = opened.page.locator("body").inner_text()
            assert all(feature in shown for feature in HOSTILE_FEATURES)
            assert HOSTILE_FOLDER in opened.page.locator("#title").inner_text()
            np.testing.assert_allclose(
                page_probabilities(opened, raw),
                network.predict_proba(scaling.apply(raw)),
                rtol=0,
                atol=TOLERANCE,
            )
            if name == "page.html":
                opened.js("window.glassnet.setPoint([120, 90])")
                shoot(opened, screenshots / "crafted-header-page.png")
            assert opened.errors == []


def test_more_than_two_inputs_forward_a_pasted_row(chromium, tmp_path, screenshots):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4))
    y = (x[:, 0] + x[:, 1] * x[:, 2] > 0).astype(int) + (x[:, 3] > 1)
    network = gn.NeuralNetwork.from_sizes(
        [4, 8, 6, 3], activation="tanh", loss="cross_entropy", optimizer="adam", random_state=0
    )
    monitor = gn.Monitor(x, y, snapshot_epochs=[1, 2, 3])
    monitor.snapshot(network, 0)
    network.train(x, y, epochs=5, batch_size=32, callbacks=[monitor])
    path = tmp_path / "four.html"
    result = write_page(network, path, data=(x, y), snapshots=monitor.snapshots, monitor=monitor)
    assert result.replay and not result.plane and result.epochs == [0, 1, 2, 3, 5]
    rows = rng.normal(size=(120, 4)) * 3
    with Opened(chromium, path) as opened:
        assert opened.page.locator("#plane-section").is_hidden()
        assert opened.page.locator("#graph line:not(.hit)").count() == 4 * 8 + 8 * 6 + 6 * 3
        assert opened.page.locator("#heatmaps canvas").count() == 3
        np.testing.assert_allclose(
            page_probabilities(opened, rows), network.predict_proba(rows), rtol=0, atol=TOLERANCE
        )
        earlier = network_at(network, monitor.snapshots[2])
        np.testing.assert_allclose(
            page_probabilities(opened, rows, 2), earlier.predict_proba(rows), rtol=0, atol=TOLERANCE
        )
        opened.page.locator("#row").fill("1.5, -2, 0.25, 3")
        opened.page.locator("#row-go").click()
        assert opened.state()["point"] == [1.5, -2, 0.25, 3]
        assert "Forward pass of (1.50000, -2.00000, 0.250000, 3.00000)" in (
            opened.page.locator("#pass-title").inner_text()
        )
        opened.page.locator("#row").fill("1, 2")
        opened.page.locator("#row-go").click()
        assert "give 4 finite numbers" in opened.page.locator("#row-error").inner_text()
        shoot(opened, screenshots / "four-inputs-page.png")
        assert opened.errors == []


def test_every_activation_matches(chromium, tmp_path):
    """One network through every element-wise activation glassnet has, and the two outputs
    that probabilities take apart (softmax; one sigmoid unit)."""
    from glassnet.pictures import layer_activations

    rng = np.random.default_rng(5)
    hidden = ("relu", "leaky_relu", "softplus", "tanh", "sigmoid", "exp", "identity")
    for output, loss in (("softmax", "cross_entropy"), ("sigmoid", "binary_cross_entropy")):
        network = gn.NeuralNetwork(loss=loss)
        network.add_layer(gn.Layer(2, 5, hidden[0]))
        for name in hidden[1:]:
            network.add_layer(gn.Layer(5, 5, name))
        network.add_layer(gn.Layer(5, 3 if output == "softmax" else 1, output))
        network.parameters[...] = rng.normal(scale=0.6, size=network.parameters.size)
        network.task = "classification"
        path = tmp_path / f"activations-{output}.html"
        write_page(network, path)
        x = plane_rows(network)
        with Opened(chromium, path) as opened:
            got = page_probabilities(opened, x)
            np.testing.assert_allclose(got, network.predict_proba(x), rtol=0, atol=TOLERANCE)
            passes = opened.js(
                "rows => rows.map(r => window.glassnet.forward(r).a)", x[:40].tolist()
            )
            expected = layer_activations(network, x[:40])
            for index, values in enumerate(expected):
                page_values = np.array([p[index] for p in passes])
                np.testing.assert_allclose(page_values, values, rtol=TOLERANCE, atol=TOLERANCE)
            assert opened.errors == []
