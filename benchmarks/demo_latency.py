"""How long from `amr demo` to a first answer on a one-minute recording, and how much
faster is a second query on the same recording (whose frames the demo keeps)?

Starts ``amr demo --checkpoint CKPT`` as a reader would, waits for the page, uploads a
one-minute simulated test mixture in headless Chromium (Debian's ``chromium``, driven by
Playwright), types its caption and waits for the moments; then asks a second query on the
same recording. The reference for the second answer is the first, timed in the same run.

    python benchmarks/demo_latency.py --checkpoint runs/quick/best.ckpt [--out F]

Prints the timings and writes them as JSON (default: benchmarks/results/demo_latency.json).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MOMENT_LABEL = re.compile(r"#\d+: [\d.]+-[\d.]+ s \(score")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_server(url: str, server: subprocess.Popen, timeout_s: float = 600) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"amr demo did not start (exit {server.poll()})") from None
            time.sleep(0.2)


def ask(page, query: str, previous_answer: str | None) -> float:
    """Type ``query``, press the button, wait for a new top moment; seconds taken."""
    page.get_by_label("what are you listening for?").fill(query)
    started = time.perf_counter()
    page.get_by_role("button", name="Find moments").click()
    page.wait_for_function(
        """previous => {
            const labels = [...document.querySelectorAll('label')]
                .map(l => l.textContent.trim()).filter(t => /^#1: /.test(t));
            return labels.length > 0 && labels[0] !== previous;
        }""", arg=previous_answer, timeout=600_000)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--out", default=str(REPO / "benchmarks/results/demo_latency.json"))
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from amr_lib.demo import write_examples

    folder = Path(tempfile.mkdtemp(prefix="amr_demo_"))
    (recording, caption), (_, other_caption) = write_examples(folder / "examples", 2)
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    started = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "-m", "amr_lib.cli", "demo", "--checkpoint", args.checkpoint,
         "--port", str(port), "--examples-dir", str(folder / "examples")],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_server(f"http://127.0.0.1:{port}/", server)
        ready = time.perf_counter() - started
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium,
                                                 args=["--headless", "--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 1400})
            page.goto(f"http://127.0.0.1:{port}/")
            page.locator("input[type=file]").first.set_input_files(recording)
            page.wait_for_timeout(500)
            first = ask(page, caption, None)
            to_first_answer = time.perf_counter() - started
            top = page.get_by_text(MOMENT_LABEL).first.inner_text().strip()
            second = ask(page, other_caption, top)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    result = {
        "benchmark": "demo_latency", "recording_s": 60.0,
        "seconds_to_page": round(ready, 2),
        "seconds_first_query": round(first, 2),
        "seconds_from_start_to_first_answer": round(to_first_answer, 2),
        "seconds_second_query_same_recording": round(second, 2),
        "first_over_second": round(first / second, 2),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "date": time.strftime("%Y-%m-%d"),
    }
    print(f"page ready after {ready:.1f} s; first answer {first:.1f} s after the click "
          f"({to_first_answer:.1f} s after `amr demo`); a second query on the same "
          f"recording {second:.2f} s ({first / second:.1f}x faster: its frames are kept)")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
