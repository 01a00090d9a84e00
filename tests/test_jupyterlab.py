"""Chapter 1 opens and runs in JupyterLab, driven through its menus by headless Chromium.

JupyterLab serves a copy of ``book/`` (it autosaves notebooks with their outputs, and the
committed chapters have none). Chromium is Debian's package (``apt-get install chromium``),
driven by Playwright; CI installs it before the tests.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request

import pytest
import yaml
from conftest import CHROMIUM, free_port

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update"]
CHAPTER = "01_the_task.ipynb"
STDERR = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
# MyST markup that a plain Markdown renderer leaves as text: directive fences and options,
# roles, and maths between dollars (jupyterlab-myst renders all of them)
RAW_MYST = re.compile(r"```\{|:class:|\{(?:admonition|numref|glue:text|cite)|\$[^$\n]+\$")


def requirement_names(lines: list[str]) -> set[str]:
    """Package names of requirement lines (comments, options and bounds dropped)."""
    names = set()
    for line in lines:
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            names.add(re.split(r"[<>=!~\[; ]", line)[0].lower().replace("_", "-"))
    return names


def test_jupyterlab_is_in_both_environments(repo_root):
    pip_names = requirement_names(
        (repo_root / "requirements.txt").read_text(encoding="utf-8").splitlines())
    assert {"jupyterlab", "ipykernel", "ipywidgets"} <= pip_names
    conda = yaml.safe_load((repo_root / "environment.yml").read_text(encoding="utf-8"))
    pip_section = next(d["pip"] for d in conda["dependencies"] if isinstance(d, dict))
    conda_names = {str(d).split("=")[0] for d in conda["dependencies"]
                   if not isinstance(d, dict)}
    # conda installs Python and pip; every package comes from requirements.txt itself,
    # or is listed in both places with the same name
    assert "-r requirements.txt" in pip_section
    listed = requirement_names(pip_section) | (conda_names - {"python", "pip"})
    assert listed <= pip_names, f"environment.yml lists {listed - pip_names} not in " \
                                "requirements.txt"



@pytest.fixture(scope="module")
def lab(tmp_path_factory, repo_root):
    """A JupyterLab server on localhost over a copy of the book; yields its base URL."""
    root = tmp_path_factory.mktemp("lab")
    shutil.copytree(repo_root / "book", root / "book",
                    ignore=shutil.ignore_patterns("_build", ".ipynb_checkpoints"))
    # JupyterLab 4 renders only the cells in view; render all, so that every output can
    # be checked (a reader scrolling sees the same cells)
    settings = root / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
    port, token = free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(root / "settings"),
           "JUPYTER_CONFIG_DIR": str(root / "config"),
           "JUPYTER_DATA_DIR": str(root / "data"), "JUPYTER_RUNTIME_DIR": str(root / "run"),
           "HF_HUB_OFFLINE": "1"}
    env.pop("MPLBACKEND", None)          # the notebook's inline backend, as a reader has
    env.pop("TQDM_DISABLE", None)        # progress bars stay on in JupyterLab
    log = (root / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
         "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={root}", f"--LabApp.workspaces_dir={root / 'workspaces'}",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        env=env, stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("JupyterLab did not start: "
                                       + (root / "server.log").read_text()[-2000:]) from None
                time.sleep(0.5)
        yield base, token
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def test_chapter_one_runs_in_jupyterlab(lab, repo_root):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.is_file(), f"{CHROMIUM}: no Chromium (apt-get install chromium)"
    base, token = lab
    code_cells = sum(
        cell["cell_type"] == "code"
        for cell in json.loads(
            (repo_root / "book" / CHAPTER).read_text(encoding="utf-8"))["cells"])
    shots = repo_root / "_build" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                             args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{base}/lab/tree/book/{CHAPTER}?token={token}")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
        # a first visit asks which kernel to start; the reader accepts the proposed one
        select = page.locator(".jp-Dialog").get_by_role("button", name="Select")
        try:
            select.wait_for(timeout=15_000)
            select.click()
        except PlaywrightTimeout:
            pass                                  # the kernel started without asking
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']",
                               timeout=120_000)
        # through the menus, as a reader would: Run > Run All Cells
        page.locator("#jp-MainMenu").get_by_text("Run", exact=True).click()
        page.locator(".lm-Menu-itemLabel").get_by_text("Run All Cells", exact=True).click()
        try:
            page.wait_for_function(
                """count => {
                    const prompts = [...document.querySelectorAll(
                        '.jp-CodeCell .jp-InputArea-prompt')].map(p => p.textContent.trim());
                    return prompts.length === count
                        && prompts.every(p => /^\\[\\d+\\]:$/.test(p));
                }""", arg=code_cells, timeout=300_000)
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']")
        finally:
            page.screenshot(path=str(shots / "jupyterlab_chapter1.png"))
        errors = page.locator(STDERR).all_inner_texts()
        figures = page.locator(".jp-RenderedImage img").count()
        players = page.locator(".jp-OutputArea audio").count()
        prose = page.locator(".jp-MarkdownCell .jp-Cell-inputWrapper").all_inner_texts()
        maths = page.locator(".jp-MarkdownCell .katex, .jp-MarkdownCell mjx-container").count()
        browser.close()
    assert not errors, errors[:3]
    assert figures >= 3 and players >= 1, (figures, players)
    raw = [text[:200] for text in prose if RAW_MYST.search(text)]
    assert prose and not raw, f"MyST shown raw in JupyterLab: {raw[:3]}"
    assert maths >= 1, "no rendered maths in Chapter 1's prose"


@pytest.mark.parametrize("text, raw", [
    ("```{admonition} Solution 1\n:class: dropdown\nUse the API.", True),
    ("the IoU is $|A \\cap B| / |A \\cup B|$ here", True),
    ("see {numref}`fig-iou`", True),
    ("Solution 1\nUse the API. It costs $5 and 6 dollars", False),
    ("IoU = |A ∩ B| / |A ∪ B| (rendered)", False),
])
def test_raw_myst_is_recognised(text, raw):
    assert bool(RAW_MYST.search(text)) is raw
