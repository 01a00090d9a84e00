"""``amr demo``: a Gradio app to search a recording for a described sound.

Upload or record audio (or pick a bundled example mixture made by the simulation), type
what you are listening for, and get the recording's spectrogram with the found moments
drawn and labelled by rank and score (:func:`amr_lib.viz.plot_found_moments`, the figure
of ``amr retrieve --plot``), a table of the moments and a player for each. A recording is
embedded once (keyed by its content), so further queries on it answer at once. Bad input
(an unreadable file, an empty query, audio shorter than one window) is answered by a
message in the page.
"""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from amr_lib.audio import SAMPLE_RATE, load_audio, write_wav
from amr_lib.retrieve import FileRetriever, Moment
from amr_lib.viz import plot_found_moments

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")   # offline: no usage reports

MAX_PLAYERS = 5                     # players shown, one per moment, best first
EMBEDDINGS_KEPT = 8                 # recordings whose frames stay in memory
EXAMPLES = 3                        # bundled example mixtures


class DemoInputError(ValueError):
    """Input the page reports to the user (never a traceback)."""


@dataclass
class Answer:
    moments: list[Moment]
    audio: np.ndarray               # (N,) the recording at the encoder's rate
    sample_rate: int
    present: bool | None = None     # the sound counts as there (None: the model cannot say)
    presence: float | None = None   # its calibrated presence probability, where there is one

    def notice(self, threshold: float | None) -> str:
        """What the page says above the moments: "not found" when the sound is judged
        absent (the moments are then only the closest ones), else nothing."""
        if self.present is not False:
            return ""
        if self.presence is not None:
            return (f"**Not found**: presence probability {self.presence:.2f}, below the "
                    f"model's threshold {threshold:.2f}. The moments below are the closest "
                    "ones, not a sound that is there.")
        return (f"**Not found**: no moment above the model's presence threshold "
                f"{threshold:.2f}. The moments below are the closest ones, not a sound "
                "that is there.")


class DemoSession:
    """A retriever and the frames of the recordings it has embedded (by content hash)."""

    def __init__(self, retriever: FileRetriever, sample_rate: int = SAMPLE_RATE) -> None:
        self.retriever = retriever
        self.sample_rate = sample_rate
        self._frames: OrderedDict[str, tuple[np.ndarray, np.ndarray]] = OrderedDict()

    def recording(self, path: str | Path) -> tuple[np.ndarray, np.ndarray]:
        """``(frames (T, D), audio (N,))`` of the file at ``path``, embedded once."""
        path = Path(path)
        try:
            key = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as error:
            raise DemoInputError(f"cannot read {path.name}: {error.strerror}") from None
        if key not in self._frames:
            try:
                frames = self.retriever.embed(path, progress=True)   # block by block
                audio, _ = load_audio(path, self.sample_rate)        # to draw and play
            except ValueError as error:         # AudioError too: unreadable, too short
                raise DemoInputError(str(error).replace(str(path), path.name)) from None
            self._frames[key] = (frames, audio)
            while len(self._frames) > EMBEDDINGS_KEPT:
                self._frames.popitem(last=False)
        self._frames.move_to_end(key)
        return self._frames[key]

    def answer(self, path: str | Path | None, query: str | None, top_k: int = 5) -> Answer:
        """The ``top_k`` moments for ``query`` in the recording at ``path``."""
        if not path:
            raise DemoInputError("add a recording first: upload a file, record one or "
                                 "pick an example")
        query = (query or "").strip()
        if not query:
            raise DemoInputError("type what you are listening for, e.g. 'a dog barks'")
        frames, audio = self.recording(path)
        search = self.retriever.search_frames(frames, query, int(top_k),
                                              duration_s=len(audio) / self.sample_rate)
        return Answer(search.moments, audio, self.sample_rate, search.found, search.presence)

    @property
    def threshold(self) -> float | None:
        """The threshold the verdicts use: the calibrated probability's, or the top
        score's (``None``: the model has neither)."""
        calibration = getattr(self.retriever, "calibration", None)
        return (calibration.threshold if calibration is not None
                else self.retriever.presence_threshold)


def moment_clip(answer: Answer, moment: Moment) -> tuple[int, np.ndarray]:
    """The audio of ``moment`` as Gradio's ``(sample_rate, samples)``."""
    first = int(moment.start_s * answer.sample_rate)
    last = max(first + 1, int(moment.end_s * answer.sample_rate))
    return answer.sample_rate, answer.audio[first:last]


def answer_figure(answer: Answer, query: str) -> Figure:
    """The found moments on the recording's spectrogram (a bare Figure: no pyplot state
    is shared between the app's requests)."""
    figure = Figure(figsize=(10, 3.2), layout="constrained")
    plot_found_moments(answer.audio, answer.sample_rate,
                       [(m.start_s, m.end_s, m.score) for m in answer.moments], query,
                       ax=figure.add_subplot())
    return figure


def write_examples(folder: str | Path, count: int = EXAMPLES) -> list[tuple[str, str]]:
    """``count`` test mixtures of the quick profile (synthetic, no data needed) as WAV
    files in ``folder``; returns ``(path, one of its captions)`` pairs."""
    from amr_lib.profiles import Profile
    from amr_lib.runs.chain import simulated

    split = simulated(Profile.quick(), "test")
    renderer = split.renderer()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    examples = []
    for recipe in [r for r in split.recipes if r.events][:count]:
        path = folder / f"{recipe.vid}.wav"
        if not path.exists():
            write_wav(path, renderer.render(recipe), renderer.sample_rate)
        examples.append((str(path), recipe.events[0].caption))
    return examples


def build_app(session: DemoSession, examples: list[tuple[str, str]] = ()):
    """The Gradio Blocks app around ``session``."""
    import gradio as gr

    def search(path, query, top_k, progress=gr.Progress(track_tqdm=True)):  # noqa: B008
        try:
            answer = session.answer(path, query, top_k)
        except DemoInputError as error:
            raise gr.Error(str(error), print_exception=False) from None
        notice = answer.notice(session.threshold)
        rows = [[rank, round(m.start_s, 1), round(m.end_s, 1), round(m.score, 3)]
                for rank, m in enumerate(answer.moments, start=1)]
        figure = answer_figure(answer, query.strip())
        players = [gr.update(value=moment_clip(answer, m), visible=True,
                             label=f"#{rank}: {m.start_s:.1f}-{m.end_s:.1f} s "
                                   f"(score {m.score:.2f})")
                   for rank, m in enumerate(answer.moments[:MAX_PLAYERS], start=1)]
        players += [gr.update(value=None, visible=False)] * (MAX_PLAYERS - len(players))
        return [gr.update(value=notice, visible=bool(notice)), figure, rows, *players]

    with gr.Blocks(title="Audio moment retrieval") as app:
        gr.Markdown("# Audio moment retrieval\nFind *when* a described sound happens in "
                    "a recording. Add a recording, describe a sound, press **Find "
                    "moments**.")
        with gr.Row():
            recording = gr.Audio(sources=["upload", "microphone"], type="filepath",
                                 label="recording")
            with gr.Column():
                query = gr.Textbox(label="what are you listening for?",
                                   placeholder="a dog barks")
                top_k = gr.Slider(1, 10, value=5, step=1, label="moments to return")
                button = gr.Button("Find moments", variant="primary")
        if examples:
            gr.Examples([list(e) for e in examples], [recording, query],
                        label="example mixtures (simulated)")
        verdict = gr.Markdown(visible=False, elem_id="not-found")
        plot = gr.Plot(label="found moments")
        table = gr.Dataframe(headers=["rank", "start (s)", "end (s)", "score"],
                             label="moments", interactive=False)
        players = [gr.Audio(visible=False, interactive=False, label=f"#{k + 1}")
                   for k in range(MAX_PLAYERS)]
        for trigger in (button.click, query.submit):
            trigger(search, [recording, query, top_k], [verdict, plot, table, *players])
    return app
