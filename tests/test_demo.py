"""`amr demo`: the session behind the page, then the page itself in headless Chromium
(Debian's `chromium`, driven by Playwright), with a tiny trained checkpoint."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from conftest import CHROMIUM, TINY_EXPERIMENT, free_port, use_tiny_experiment

from amr_lib.audio import write_wav
from amr_lib.demo import MAX_PLAYERS, DemoInputError, DemoSession, build_app, write_examples
from amr_lib.retrieve import Retriever
from amr_lib.runs.chain import simulated, train_profile
from amr_lib.spans import temporal_iou


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, tiny_experiment_cache):
    """A session on the tiny profile's checkpoint, and one of its test mixtures as a WAV
    file with its query and true moment."""
    root = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as patch:
        use_tiny_experiment(patch, tiny_experiment_cache)
        run = train_profile(TINY_EXPERIMENT, "cpu", progress=False)
        session = DemoSession(Retriever.from_checkpoint(run.run_dir / "best.ckpt"))
        test = simulated(TINY_EXPERIMENT, "test")
        recipe = next(r for r in test.recipes if r.events)
        path = root / "mixture.wav"
        write_wav(path, test.renderer().render(recipe), test.renderer().sample_rate)
        event = recipe.events[0]
        truth = next(a for a in test.annotations if a.qid == event.qid).relevant_windows
        yield session, path, event.caption, truth, root


def test_an_answer_has_ranked_moments_and_their_audio(tiny):
    session, path, query, _, _ = tiny
    answer = session.answer(str(path), query, top_k=3)
    assert 1 <= len(answer.moments) <= 3
    assert [m.score for m in answer.moments] == sorted(
        (m.score for m in answer.moments), reverse=True)
    assert len(answer.audio) / answer.sample_rate == pytest.approx(60.0, abs=0.01)
    assert all(0 <= m.start_s < m.end_s <= 60.0 for m in answer.moments)


def test_an_answer_says_whether_it_passes_the_presence_threshold(tiny, monkeypatch):
    session, path, query, _, _ = tiny
    assert session.answer(str(path), query).present is None      # trained without absent
    monkeypatch.setattr(session.retriever, "presence_threshold", 1.5)
    assert session.answer(str(path), query).present is False
    monkeypatch.setattr(session.retriever, "presence_threshold", 0.0)
    assert session.answer(str(path), query).present is True


def test_a_calibrated_model_says_not_found_above_the_closest_moments(tiny, monkeypatch):
    from amr_lib.presence import Calibration

    session, path, query, _, _ = tiny
    assert session.answer(str(path), query).notice(session.threshold) == ""
    never = Calibration(("top", "saliency"), (0.0, 0.0), -2.0, 0.5, 0.9, 0.02)
    monkeypatch.setattr(session.retriever, "calibration", never, raising=False)
    answer = session.answer(str(path), query)
    assert answer.present is False and answer.presence == pytest.approx(0.119, abs=1e-3)
    assert answer.moments                                    # the closest ones, still shown
    assert answer.notice(session.threshold).startswith(
        "**Not found**: presence probability 0.12, below the model's threshold 0.50")


def test_a_recording_is_embedded_once_for_many_queries(tiny, monkeypatch):
    session, path, query, _, root = tiny
    copy = root / "copy.wav"                      # same content, another upload path
    copy.write_bytes(path.read_bytes())
    session.answer(str(path), query)
    calls = []
    embed = session.retriever.embed
    monkeypatch.setattr(session.retriever, "embed",
                        lambda *a, **k: calls.append(a) or embed(*a, **k))
    first = session.answer(str(copy), "a dog barks")
    second = session.answer(str(path), query)
    assert not calls
    assert first.audio is second.audio             # the same cached recording


@pytest.mark.parametrize(("make", "message"), [
    (lambda root: None, "add a recording first"),
    (lambda root: root / "missing.wav", "cannot read missing.wav"),
    (lambda root: (root / "noise.wav").write_bytes(b"not audio at all") and
     root / "noise.wav", "noise.wav: unreadable audio"),
    (lambda root: write_wav(root / "short.wav", np.zeros(4000, np.float32), 16000) or
     root / "short.wav", "shorter than one"),
])
def test_bad_input_gets_a_message_that_names_the_problem(tiny, make, message):
    session, _, query, _, root = tiny
    with pytest.raises(DemoInputError, match=message) as error:
        session.answer(make(root), query)
    assert str(root) not in str(error.value)     # the page shows names, not paths


def test_an_empty_query_is_refused(tiny):
    session, path, _, _, _ = tiny
    with pytest.raises(DemoInputError, match="type what you are listening for"):
        session.answer(str(path), "   ")


def test_bundled_examples_are_simulated_mixtures_with_a_caption(tmp_path, tiny):
    examples = write_examples(tmp_path, count=2)
    assert len(examples) == 2
    for path, caption in examples:
        assert Path(path).stat().st_size > 16000 * 2 * 50 and caption



def test_the_page_finds_moments_and_reports_bad_input(tiny, repo_root):
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.is_file(), f"{CHROMIUM}: no Chromium (apt-get install chromium)"
    session, path, query, truth, _ = tiny
    port = free_port()
    from amr_lib.presence import Calibration

    app = build_app(session)
    app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True,
               show_error=False, quiet=True)
    shots = repo_root / "_build" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                 args=["--headless", "--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 1400})
            page.goto(f"http://127.0.0.1:{port}/")
            find = page.get_by_role("button", name="Find moments")
            # no recording yet: a message, not a traceback
            find.click()
            page.get_by_text("add a recording first").wait_for(timeout=30_000)
            page.locator("input[type=file]").first.set_input_files(str(path))
            page.get_by_label("what are you listening for?").fill("   ")
            page.wait_for_timeout(1000)
            find.click()
            page.get_by_text("type what you are listening for").wait_for(timeout=30_000)
            page.get_by_label("what are you listening for?").fill(query)
            find.click()
            # one player per moment, labelled "#rank: start-end s (score s)"
            labels = page.get_by_text(re.compile(r"#\d+: [\d.]+-[\d.]+ s \(score"))
            labels.first.wait_for(timeout=120_000)
            page.wait_for_timeout(1000)
            page.screenshot(path=str(shots / "demo.png"), full_page=True)
            found = [re.search(r"#(\d+): ([\d.]+)-([\d.]+) s", text).groups()
                     for text in labels.all_inner_texts()]
            shown_before = page.locator("#not-found").is_visible()
            cells = page.locator("td .cell-wrap")                     # the moments table
            cells.filter(has_text=re.compile(r"\d")).first.wait_for(state="attached",
                                                                    timeout=30_000)
            table = [text.strip() for text in cells.all_text_contents()]
            plots = page.locator("img").count()
            players = page.locator("audio").count()
            # a model that judges the sound absent says so above the closest moments
            session.retriever.calibration = Calibration(("top", "saliency"), (0.0, 0.0),
                                                        -2.0, 0.5, 0.9, 0.02)
            find.click()
            notice = page.get_by_text("Not found")
            notice.wait_for(timeout=60_000)
            page.wait_for_timeout(1000)
            page.screenshot(path=str(shots / "demo_not_found.png"), full_page=True)
            said = " ".join(page.locator("#not-found").inner_text().split())
            moments_after = labels.count()
            tracebacks = page.get_by_text("Traceback").count()
            browser.close()
    finally:
        session.retriever.calibration = None
        app.close()
    moments = np.array([[float(start), float(end)] for _, start, end in found])
    assert [int(rank) for rank, _, _ in found] == list(range(1, len(found) + 1))
    assert 1 <= len(moments) <= MAX_PLAYERS
    assert temporal_iou(moments, truth).max() > 0          # a returned moment overlaps
    # the table has rows (it renders them lazily, so their cells are not read back here)
    assert table and table[0] == "1"
    assert plots >= 1 and players >= len(moments)
    assert not shown_before                     # no calibration: no verdict shown
    assert said.startswith("Not found: presence probability 0.12") and moments_after >= 1
    assert tracebacks == 0
