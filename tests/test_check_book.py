"""The page checks of scripts/check_book.py, on made-up pages (the browser run itself is
`make check-book`)."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "check_book.py"
spec = importlib.util.spec_from_file_location("check_book", SCRIPT)
check_book = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_book)


def clean_facts(**changes) -> dict:
    facts = {"errorBlocks": [], "tracebacks": 0, "images": [], "links": [], "ids": [],
             "rawMath": [], "mathElements": 2, "renderedMath": 2, "audio": []}
    facts.update(changes)
    return facts


@pytest.fixture
def site(tmp_path):
    (tmp_path / "book").mkdir()
    (tmp_path / "index.html").write_text('<h1 id="top">x</h1>', encoding="utf-8")
    (tmp_path / "book" / "ch.html").write_text('<p id="fig-a">y</p>', encoding="utf-8")
    return tmp_path


def problems(site, facts, html="<html></html>"):
    return check_book.page_problems(facts, html, site / "book" / "ch.html", site, {})


def test_a_clean_page_passes(site):
    good_image = {"src": "a.png", "alt": "a spectrogram", "loaded": True, "inFigure": True,
                  "caption": "Figure 3 A spectrogram."}
    facts = clean_facts(images=[good_image], links=["../index.html#top", "#fig-a",
                                                    "https://arxiv.org/abs/2409.15672"],
                        audio=[{"src": "data:audio/wav", "duration": 60.0, "error": None}])
    assert problems(site, facts) == []


@pytest.mark.parametrize(("facts", "expected"), [
    (clean_facts(errorBlocks=["UserWarning: x"]), "error/stderr output"),
    (clean_facts(tracebacks=1), "traceback"),
    (clean_facts(rawMath=[r"\(x^2\)"]), "unrendered maths"),
    (clean_facts(renderedMath=0), "none rendered"),
    (clean_facts(links=["missing.html"]), "broken link"),
    (clean_facts(links=["../index.html#nowhere"]), "broken anchor"),
    (clean_facts(audio=[{"src": "", "duration": float("nan"), "error": 4}]), "audio player"),
    (clean_facts(images=[{"src": "b.png", "alt": "b.png", "loaded": False, "inFigure": False,
                          "caption": ""}]), "image does not load"),
])
def test_each_kind_of_problem_is_reported(site, facts, expected):
    found = problems(site, facts)
    assert any(expected in problem for problem in found), found


def test_images_need_numbered_captions_and_real_alt_text(site):
    image = {"src": "c.png", "alt": "_images/c.png", "loaded": True, "inFigure": True,
             "caption": "A picture without a number."}
    found = problems(site, clean_facts(images=[image]))
    assert any("numbered caption" in p for p in found)
    assert any("alt text" in p for p in found)


def test_machine_paths_in_the_html_are_reported(site):
    html = '<p>see /root/.venv/lib/python3.11/site-packages/tqdm/auto.py</p>'
    found = problems(site, clean_facts(), html)
    assert found and all("machine path" in p for p in found)
    assert problems(site, clean_facts(), "<p>book/_static/x.js and 1/2 s</p>") == []
