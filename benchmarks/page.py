"""The demo's page: its size, and how long headless Chromium takes to make it interactive.

    .venv/bin/python benchmarks/page.py            # runs `glassnet demo` (500 epochs) first
    .venv/bin/python benchmarks/page.py RUN_DIR    # the page.html of a run folder

Time to interactive is read inside the page: ``performance.now()`` (milliseconds since the
navigation started) at the first animation frame after its script has drawn everything, when it
sets ``window.glassnet.ready``. The
wall time around Playwright's ``goto`` until then is shown beside it. Median of 5 fresh loads,
each in a new browser context. Needs Debian's ``/usr/bin/chromium`` and the playwright package.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOADS = 5


def demo_folder() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="glassnet-page-bench-")) / "demo"
    command = [str(Path(sys.executable).with_name("glassnet")), "demo", "--out", str(folder)]
    started = time.perf_counter()
    subprocess.run([*command, "--quiet"], check=True, stdout=subprocess.DEVNULL)
    print(f"glassnet demo: {time.perf_counter() - started:.1f} s into {folder}")
    return folder


def main() -> None:
    from playwright.sync_api import sync_playwright

    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else demo_folder()
    page_path = folder / "page.html"
    size = page_path.stat().st_size
    inside, outside = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for _ in range(LOADS):
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error, errors=errors: errors.append(str(error)))
            started = time.perf_counter()
            page.goto(page_path.resolve().as_uri())
            page.wait_for_function("window.glassnet && window.glassnet.ready")
            outside.append(1e3 * (time.perf_counter() - started))
            inside.append(page.evaluate("window.glassnet.readyAt"))
            snapshots = len(page.evaluate("window.glassnet.epochs"))
            if errors:
                raise SystemExit(f"the page reported errors: {errors}")
            context.close()
        browser.close()
    print(f"page: {page_path}")
    print(f"size: {size} bytes ({size / 2**20:.2f} MiB), {snapshots} parameter sets")
    print(
        f"time to interactive (in the page, navigation start to ready): median "
        f"{statistics.median(inside):.0f} ms of {LOADS} loads "
        f"({', '.join(f'{t:.0f}' for t in inside)})"
    )
    print(
        f"wall time of goto until ready (Playwright): median {statistics.median(outside):.0f} ms "
        f"({', '.join(f'{t:.0f}' for t in outside)})"
    )


if __name__ == "__main__":
    main()
