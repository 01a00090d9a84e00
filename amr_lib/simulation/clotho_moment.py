"""A simulated split end to end, and its folder on disk.

``simulate_split`` runs Algorithm 1 on a clip corpus and a background corpus;
``write_split`` stores the result as a folder that later stages read back:

- ``simulation.json``: config, seed and corpus specs (enough to re-render the audio);
- ``recipes.jsonl``: one mixture recipe per background segment;
- ``annotations.jsonl``: one Lighthouse query per event;
- ``audio/{vid}.wav`` (optional): rendered mixtures, 16-bit PCM at the simulation rate.

The folder appears complete or not at all: it is assembled under a temporary name and
renamed into place.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from amr_lib.audio import write_wav
from amr_lib.corpora import CorpusSpec, make_background_corpus, make_clip_corpus
from amr_lib.lighthouse_jsonl import MomentAnnotation, read_annotations, write_annotations
from amr_lib.progress import progress_bar
from amr_lib.simulation.algorithm import (
    RECIPE_VERSION,
    MixtureRecipe,
    SimulationConfig,
    annotations_from_recipes,
    read_recipes,
    sample_recipes,
    segment_backgrounds,
    subsample_segments,
    trim_clips,
    write_recipes,
)
from amr_lib.simulation.mixing import MixtureRenderer
from amr_lib.storage.cache import ArtifactCache

SIMULATION_FILE = "simulation.json"
RECIPES_FILE = "recipes.jsonl"
ANNOTATIONS_FILE = "annotations.jsonl"
AUDIO_FOLDER = "audio"


@dataclass(frozen=True)
class SimulatedSplit:
    """Recipes and queries of one split, with what is needed to render its audio."""

    split: str
    seed: int
    config: SimulationConfig
    clip_corpus: CorpusSpec
    background_corpus: CorpusSpec
    recipes: list[MixtureRecipe]
    annotations: list[MomentAnnotation]

    def renderer(self) -> MixtureRenderer:
        rate = self.config.sample_rate
        return MixtureRenderer(make_clip_corpus(self.clip_corpus, rate),
                               make_background_corpus(self.background_corpus, rate), rate)

    def render(self, vid: str) -> np.ndarray:
        """The ``(N,)`` mixture of recording ``vid`` (``KeyError`` naming it when the split
        has no such recording)."""
        recipe = next((r for r in self.recipes if r.vid == vid), None)
        if recipe is None:
            raise KeyError(f"no recording {vid!r} in the {self.split} split")
        return self.renderer().render(recipe)


def simulate_split(clip_corpus: CorpusSpec, background_corpus: CorpusSpec, split: str,
                   config: SimulationConfig | None = None, seed: int = 0,
                   max_segments: int | None = None,
                   cache: ArtifactCache | None = None) -> SimulatedSplit:
    """Segments, trimmed clips, recipes and annotations for ``split`` (deterministic)."""
    config = config or SimulationConfig()
    clips = make_clip_corpus(clip_corpus, config.sample_rate)
    backgrounds = make_background_corpus(background_corpus, config.sample_rate)
    segments = subsample_segments(segment_backgrounds(backgrounds, split, config),
                                  max_segments, seed)
    trimmed = trim_clips(clips, split, config, cache)
    recipes = sample_recipes(segments, trimmed, config, seed)
    return SimulatedSplit(split, seed, config, clip_corpus, background_corpus, recipes,
                          annotations_from_recipes(recipes, config))


def write_split(result: SimulatedSplit, out_dir: str | Path, write_audio: bool = False) -> Path:
    """Write the split's folder (see module docstring); refuses a non-empty ``out_dir``."""
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise FileExistsError(f"{out_dir}: exists and is not an empty folder; choose a new "
                              "--out folder or remove it")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.tmp-"))
    try:
        (staging / SIMULATION_FILE).write_text(json.dumps(_description(result), indent=2),
                                               encoding="utf-8")
        write_recipes(staging / RECIPES_FILE, result.recipes)
        if result.annotations:
            write_annotations(staging / ANNOTATIONS_FILE, result.annotations)
        else:
            (staging / ANNOTATIONS_FILE).touch()
        if write_audio:
            renderer = result.renderer()
            for recipe in progress_bar(result.recipes, desc=f"rendering {result.split}",
                                       leave=False):
                write_wav(staging / AUDIO_FOLDER / f"{recipe.vid}.wav", renderer.render(recipe),
                          result.config.sample_rate)
        if out_dir.exists():
            out_dir.rmdir()
        os.replace(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir


def read_split(out_dir: str | Path) -> SimulatedSplit:
    """Read a folder written by :func:`write_split`."""
    out_dir = Path(out_dir)
    description_path = out_dir / SIMULATION_FILE
    if not description_path.is_file():
        raise FileNotFoundError(f"{description_path}: not found; is {out_dir} a folder "
                                "written by `amr simulate`?")
    description = json.loads(description_path.read_text(encoding="utf-8"))
    annotations_path = out_dir / ANNOTATIONS_FILE
    annotations = (read_annotations(annotations_path)
                   if annotations_path.stat().st_size else [])
    return SimulatedSplit(
        split=description["split"], seed=description["seed"],
        config=SimulationConfig.from_json(description["config"]),
        clip_corpus=CorpusSpec(**description["clip_corpus"]),
        background_corpus=CorpusSpec(**description["background_corpus"]),
        recipes=read_recipes(out_dir / RECIPES_FILE), annotations=annotations)


def _description(result: SimulatedSplit) -> dict:
    return {
        "version": RECIPE_VERSION,
        "split": result.split,
        "seed": result.seed,
        "config": result.config.to_json(),
        "clip_corpus": result.clip_corpus.to_json(),
        "background_corpus": result.background_corpus.to_json(),
        "num_segments": len(result.recipes),
        "num_queries": len(result.annotations),
    }
