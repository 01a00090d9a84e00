"""The book's configuration builds offline with warnings as errors; notebooks are clean.

Chapters are executed by nbmake (pytest collects book/*.ipynb), so the build here skips
execution to stay fast.
"""

import json
import subprocess
import sys
from pathlib import Path

import yaml


def load_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def toc_files(toc: dict) -> list[str]:
    files = [toc["root"]]
    for entry in toc.get("chapters", []) + [c for p in toc.get("parts", [])
                                           for c in p["chapters"]]:
        files.append(entry["file"])
    return files


def test_config_executes_notebooks_with_a_timeout_and_a_bibliography(repo_root):
    config = load_yaml(repo_root / "_config.yml")
    assert config["only_build_toc_files"] is True
    assert config["execute"]["execute_notebooks"] in {"auto", "cache"}
    assert 0 < config["execute"]["timeout"] <= 1200
    assert config["execute"]["allow_errors"] is False
    for bib in config["bibtex_bibfiles"]:
        text = (repo_root / bib).read_text(encoding="utf-8")
        assert "munakata2025amr" in text and "nishimura2024lighthouse" in text


def test_every_chapter_is_in_the_toc_and_exists(repo_root):
    listed = toc_files(load_yaml(repo_root / "_toc.yml"))
    for name in listed:
        assert [p for p in repo_root.glob(f"{name}.*")
                if p.suffix in {".md", ".ipynb"}], f"{name} is in _toc.yml but missing"
    chapters = {f"book/{p.stem}" for p in (repo_root / "book").glob("*.ipynb")}
    assert chapters <= set(listed), f"chapters missing from _toc.yml: {chapters - set(listed)}"


def test_notebooks_are_committed_without_outputs(repo_root):
    for path in (repo_root / "book").glob("*.ipynb"):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        for cell in notebook["cells"]:
            if cell["cell_type"] == "code":
                assert not cell["outputs"] and cell["execution_count"] is None, path.name


def test_book_builds_with_warnings_as_errors(repo_root, tmp_path):
    config = load_yaml(repo_root / "_config.yml")
    config["execute"]["execute_notebooks"] = "off"
    # the copied config lives elsewhere: point its local extensions at the repository
    extensions = config["sphinx"].get("local_extensions", {})
    config["sphinx"]["local_extensions"] = {name: str(repo_root / folder)
                                            for name, folder in extensions.items()}
    # without execution there are no figures or glued values to refer to; `make book`
    # (in CI too) builds with them, warnings as errors
    config["sphinx"]["config"]["suppress_warnings"] = ["ref.numref", "mystnb.glue"]
    config_path = tmp_path / "_config.yml"
    config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    done = subprocess.run(
        [str(jupyter_book), "build", str(repo_root), "--config", str(config_path),
         "--path-output", str(tmp_path), "-W", "-n", "--keep-going"],
        capture_output=True, text=True, cwd=repo_root, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    html = tmp_path / "_build" / "html"
    assert (html / "book" / "01_the_task.html").is_file()
    references = (html / "book" / "references.html").read_text(encoding="utf-8")
    assert "Language-based Audio Moment Retrieval" in references


CODE_WIDTH = 76      # 77 characters fit the code box in a 1280-pixel window (Chromium)


def notebooks(repo_root: Path) -> list[tuple[Path, dict]]:
    return [(path, json.loads(path.read_text(encoding="utf-8")))
            for path in sorted((repo_root / "book").glob("*.ipynb"))]


def test_code_fits_the_page_width(repo_root):
    for path, notebook in notebooks(repo_root):
        for cell in notebook["cells"]:
            if cell["cell_type"] == "code":
                for line in "".join(cell["source"]).splitlines():
                    assert len(line) <= CODE_WIDTH, f"{path.name}: {line!r}"


def test_every_figure_has_a_numbered_caption_and_alt_text(repo_root):
    names = set()
    for path, notebook in notebooks(repo_root):
        for cell in notebook["cells"]:
            source = "".join(cell["source"])
            if cell["cell_type"] != "code" or "plt.show()" not in source:
                continue
            figure = cell["metadata"].get("mystnb", {})
            caption = figure.get("figure", {}).get("caption", "")
            alt = figure.get("image", {}).get("alt", "")
            name = figure.get("figure", {}).get("name", "")
            assert caption and alt and name.startswith("fig-"), f"{path.name}: {source[:80]!r}"
            assert name not in names, f"figure name {name} used twice"
            names.add(name)


def test_maths_offline_figures_numbered_and_stderr_refused(repo_root):
    config = load_yaml(repo_root / "_config.yml")
    assert "sphinx-mathjax-offline" in config["sphinx"]["extra_extensions"]
    assert config["sphinx"]["config"]["numfig"] is True
    assert config["execute"]["stderr_output"] == "error"
    makefile = (repo_root / "Makefile").read_text(encoding="utf-8")
    assert "book test: export TQDM_DISABLE = 1" in makefile
