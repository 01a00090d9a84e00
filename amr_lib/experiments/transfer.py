"""Sim-to-real transfer: one profile's trained models scored on another profile's test split.

A model reads the features of the encoder it was trained with, so another profile's test
recordings and queries are encoded again by the *model's* profile encoder
(:func:`domain_test`); AM-DETR then predicts as usual, and the sliding-window baseline uses
the threshold and filter it was tuned with on its own validation split. The same machinery
asks two more questions of a trained model:

- which sounds it finds: R1@IoU per sound class (:func:`query_classes`,
  :func:`recall_by_class`);
- whether it understands wording it never read: the same test moments asked for in other
  words (:func:`requeried`, with :mod:`amr_lib.experiments.paraphrases`).

:func:`run_transfer` runs the whole study for the quick (synthetic) and real-sounds
(ESC-50 over recorded ambience) profiles over several training seeds; ``amr experiment
transfer`` writes its :meth:`TransferStudy.rows` as JSON for the book, and every prediction
set as Lighthouse JSONL (:meth:`TransferStudy.write_predictions`), which
:meth:`TransferStudy.read_predictions` adds to a later study without training again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from amr_lib import baseline as sliding
from amr_lib.config import TRANSFER_PROFILES, resolve_device
from amr_lib.experiments.paraphrases import paraphrase_annotations
from amr_lib.experiments.results import METRICS, mean_and_spread, stored_point, write_json
from amr_lib.experiments.table1 import run_baseline
from amr_lib.features.extract import FeatureEncoder
from amr_lib.lighthouse_jsonl import (
    MomentAnnotation,
    MomentPrediction,
    read_predictions,
    write_predictions,
)
from amr_lib.metrics import evaluate, score_queries
from amr_lib.model.am_detr import AMDETR
from amr_lib.model.data import MomentSplit
from amr_lib.numerics import fingerprint
from amr_lib.profiles import Profile, load_profile, profile_key
from amr_lib.runs.chain import (
    PreparedSplit,
    feature_encoder,
    prepare,
    simulated,
    train_profile,
    window_config,
)
from amr_lib.simulation import classes as sound_classes
from amr_lib.simulation.clotho_moment import SimulatedSplit
from amr_lib.train import predict_split

PROFILES = TRANSFER_PROFILES
TRANSFER = "transfer.json"
MIX = "both"              # trained on: every profile's simulated data (see run_transfer)
QUANTILES = (10, 25, 50, 75, 90)      # percent: box-plot whiskers, quartiles, median
MEASURES = (*METRICS, "median_top1_s")


@dataclass
class DomainTest:
    """``data_profile``'s test split as a model of ``model_profile`` sees it: encoded by
    ``model_profile``'s feature encoder."""

    model_profile: str
    data_profile: str
    prepared: PreparedSplit
    encoder: FeatureEncoder            # the one that made ``prepared``'s store

    @property
    def annotations(self) -> list[MomentAnnotation]:
        return self.prepared.simulated.annotations


def domain_test(model_profile: Profile, data_profile: Profile) -> DomainTest:
    """Encode ``data_profile``'s test split with ``model_profile``'s encoder (from the
    cache when done before). Both profiles must cut time into the same windows."""
    if window_config(model_profile) != window_config(data_profile):
        raise ValueError(f"profiles {model_profile.name!r} and {data_profile.name!r} use "
                         f"different feature windows; a model cannot read the other's")
    encoder = feature_encoder(model_profile)
    return DomainTest(model_profile.name, data_profile.name,
                      prepare(data_profile, "test", encoder), encoder)


def detr_predictions(model: AMDETR, split: MomentSplit, device: str = "auto"
                     ) -> list[MomentPrediction]:
    """AM-DETR's ranked moments for every query of ``split``."""
    used = resolve_device(device)
    return predict_split(model.to(used), split, device=used)


def requeried(test: DomainTest, annotations: Sequence[MomentAnnotation]
              ) -> tuple[MomentSplit, list[np.ndarray]]:
    """The test recordings asked new questions: ``annotations`` are the test's queries with
    other texts (same qids, recordings and windows). Returns AM-DETR's input split and the
    baseline's ``(T,)`` similarity curve per query, both from ``test``'s encoder."""
    tokens, sentences = test.encoder.query_features([a.query for a in annotations])
    store = test.prepared.store
    vids = sorted({a.vid for a in annotations})
    frames = {vid: store.load_audio(vid) for vid in vids}
    split = MomentSplit.from_arrays([frames[v] for v in vids], vids, tokens, annotations,
                                    test.prepared.hop_s)
    curves = [sliding.frame_similarity(frames[a.vid], sentence)
              for a, sentence in zip(annotations, sentences, strict=True)]
    return split, curves


def query_classes(simulated: SimulatedSplit) -> dict[str, str]:
    """qid -> the sound class of the clip its query was made from (ESC-50's category, or
    the synthetic corpus's class)."""
    return dict(zip((a.qid for a in simulated.annotations), sound_classes.query_classes(simulated),
                    strict=True))


def recall_by_class(annotations: Sequence[MomentAnnotation],
                    predictions: Sequence[MomentPrediction], classes: Mapping[str, str],
                    iou: float = 0.5) -> dict[str, dict[str, float]]:
    """Per sound class: ``{"R1": percent of its queries whose top moment reaches IoU
    ``iou``, "queries": how many}``, classes in name order."""
    hits = score_queries(annotations, predictions, (iou,)).recall_at_1[:, 0]
    labels = np.array([classes[a.qid] for a in annotations])
    return {label: {"R1": float(100 * hits[labels == label].mean()),
                    "queries": int((labels == label).sum())}
            for label in sorted(set(labels))}


def top_lengths(predictions: Sequence[MomentPrediction]) -> np.ndarray:
    """``(Q,)`` seconds: the length of each query's highest-scored moment."""
    tops = [p.pred_relevant_windows[np.argmax(p.pred_relevant_windows[:, 2])]
            for p in predictions]
    return np.array([end - start for start, end, _ in tops])


def length_quantiles(lengths: np.ndarray) -> list[float]:
    """The :data:`QUANTILES` (percent) of ``lengths``, seconds, 2 decimals: enough to draw
    a box plot without the data."""
    return [round(float(v), 2) for v in np.percentile(lengths, QUANTILES)]


def true_lengths(annotations: Sequence[MomentAnnotation]) -> np.ndarray:
    """``(W,)`` seconds: every relevant window's length."""
    return np.concatenate([a.relevant_windows[:, 1] - a.relevant_windows[:, 0]
                           for a in annotations])


Key = tuple[str, str, str, str, int | None]   # method, trained on, tested on, wording, seed
# a prediction set's file: am-detr_real-sounds_on_quick_captions_seed0.jsonl (no seed part
# for the deterministic baseline)
PREDICTION_FILE = re.compile(r"(?P<method>[^_]+)_(?P<trained>[^_]+)_on_(?P<tested>[^_]+)_"
                             r"(?P<wording>[^_]+?)(?:_seed(?P<seed>\d+))?\.jsonl")


def prediction_file(key: Key) -> str:
    """The file name of prediction set ``key`` (see :data:`PREDICTION_FILE`)."""
    method, trained, tested, wording, seed = key
    return f"{method}_{trained}_on_{tested}_{wording}" + (
        "" if seed is None else f"_seed{seed}") + ".jsonl"


@dataclass
class TransferStudy:
    """Every model of the study on every test split: ``predictions[(method, trained_on,
    tested_on, wording, seed)]`` (wording ``captions`` or ``paraphrases``; seed ``None``
    for the baseline), the queries each wording asked (``asked[(trained_on, tested_on,
    wording)]``), the encoded test splits, and the sound class of every real-sounds test
    query (``classes``: qid -> ESC-50 class)."""

    tests: dict[tuple[str, str], DomainTest]
    asked: dict[tuple[str, str, str], list[MomentAnnotation]]
    predictions: dict[Key, list[MomentPrediction]]
    classes: dict[str, str]
    real: str = "real-sounds"

    def questions(self, tested: str, wording: str) -> list[MomentAnnotation]:
        """The queries of ``tested``'s test split in ``wording`` (``captions``, or
        ``paraphrases`` of the real-sounds test); any loaded encoding of it will do, since
        annotations do not depend on the encoder."""
        test = next((t for (_, name), t in self.tests.items() if name == tested), None)
        if test is None:
            raise KeyError(f"no test split of {tested!r} in this study")
        if wording == "captions":
            return test.annotations
        if wording == "paraphrases" and tested == self.real:
            return paraphrase_annotations(test.annotations, self.classes)
        raise KeyError(f"no {wording!r} queries for the {tested!r} test split")

    def write_predictions(self, folder: str | Path) -> list[Path]:
        """Every prediction set as Lighthouse JSONL in ``folder``, named by
        :func:`prediction_file`; returns the paths."""
        paths = [Path(folder) / prediction_file(key) for key in self.predictions]
        for path, predicted in zip(paths, self.predictions.values(), strict=True):
            write_predictions(path, predicted)
        return paths

    def read_predictions(self, folder: str | Path) -> list[Key]:
        """Add every prediction file of ``folder`` (written by :meth:`write_predictions`)
        to the study, asked the queries of its test split (which must be loaded) in its
        wording; returns the keys added. A file that does not answer exactly those
        queries is refused, naming it."""
        added = []
        for path in sorted(Path(folder).glob("*.jsonl")):
            match = PREDICTION_FILE.fullmatch(path.name)
            if match is None:
                raise ValueError(f"{path}: not a prediction file name like "
                                 f"{prediction_file(('am-detr', 'quick', 'quick', 'captions', 0))}")
            found = match.groupdict()
            seed = None if found["seed"] is None else int(found["seed"])
            key = (found["method"], found["trained"], found["tested"], found["wording"], seed)
            asked = self.questions(key[2], key[3])
            predicted = read_predictions(path)
            if [p.qid for p in predicted] != [a.qid for a in asked]:
                raise ValueError(f"{path}: its qids are not those of the {key[2]!r} test "
                                 f"split's {key[3]} ({len(predicted)} vs {len(asked)} queries)")
            self.asked[key[1:4]] = asked
            self.predictions[key] = predicted
            added.append(key)
        return added

    def rows(self) -> dict[str, list[dict[str, Any]]]:
        """``{"cells": ..., "classes": ..., "lengths": ...}`` for JSON:

        - ``cells``: per prediction set, R1/mAP and the length of the top moment (its
          median, and ``top1_s``: its :data:`QUANTILES` in seconds);
        - ``classes``: R1@0.5 per sound class of every prediction set on the real test;
        - ``lengths``: the :data:`QUANTILES` of each test split's true moment lengths
          (``true_s``).
        """
        cells, class_rows = [], []
        for (method, trained, tested, wording, seed), predicted in self.predictions.items():
            asked = self.asked[trained, tested, wording]
            names = {"method": method, "trained_on": trained, "tested_on": tested,
                     "queries": wording, "seed": seed}
            report = evaluate(asked, predicted)
            top = length_quantiles(top_lengths(predicted))
            cells.append({**names, **{m: report[m] for m in METRICS},
                          "median_top1_s": top[QUANTILES.index(50)], "top1_s": top})
            if tested == self.real:
                class_rows += [{**names, "class": label, "R1@0.5": round(cell["R1"], 2),
                                "n": cell["queries"]} for label, cell in
                               recall_by_class(asked, predicted, self.classes).items()]
        tested_on = {tested: test for (_, tested), test in self.tests.items()}
        lengths = [{"tested_on": name, "true_s": length_quantiles(
            true_lengths(test.annotations))} for name, test in tested_on.items()]
        return {"cells": cells, "classes": class_rows, "lengths": lengths}


def trained_predictions(profile: Profile, splits: Sequence[MomentSplit], seed: int,
                        device: str, progress: bool, mix: Sequence[Profile] = ()
                        ) -> list[list[MomentPrediction]]:
    """AM-DETR of ``profile`` (seed ``seed``; trained on ``mix`` too) on each split."""
    model = train_profile(profile, device, progress=progress, seed=seed, mix=mix).result.model
    return [detr_predictions(model, split, device) for split in splits]


def answers(predictions: Sequence[MomentPrediction] | Sequence[MomentAnnotation]
            ) -> list[tuple[str, str, str]]:
    """``(qid, query, vid)`` of each prediction or annotation: the question it answers."""
    return [(str(p.qid), p.query, p.vid) for p in predictions]


def model_predictions(point: Path | None, made: Mapping[str, Any], keys: Sequence[Key],
                      asked: Sequence[Sequence[MomentAnnotation]],
                      predict: Callable[[], list[list[MomentPrediction]]]
                      ) -> dict[Key, list[MomentPrediction]]:
    """The prediction sets ``keys`` of one trained model, the ``i``-th answering the
    queries ``asked[i]``: read from the grid point ``point`` when it was made as ``made``
    says and holds every set, answering exactly those queries; else ``predict()`` (which
    trains the model, or takes it from the run cache), written to ``point`` (when given)
    so an interrupted study resumes without training it again."""
    names = [prediction_file(key) for key in keys]
    stored = None if point is None else stored_point(point, made, ("predictions",))
    if stored is not None and all(name in stored["predictions"] for name in names):
        found = {key: [MomentPrediction.from_json(record)
                       for record in stored["predictions"][name]]
                 for key, name in zip(keys, names, strict=True)}
        if all(answers(found[key]) == answers(questions)
               for key, questions in zip(keys, asked, strict=True)):
            return found
    predicted = dict(zip(keys, predict(), strict=True))
    if point is not None:
        write_json(point, {**made, "predictions": {
            name: [prediction.to_json() for prediction in predicted[key]]
            for key, name in zip(keys, names, strict=True)}})
    return predicted


def run_transfer(seeds: int = 3, device: str = "auto", progress: bool = False,
                 profiles: Mapping[str, Profile] | None = None, mix: bool = True,
                 trained_on: Sequence[str] | None = None,
                 points: str | Path | None = None) -> TransferStudy:
    """The whole study on ``profiles`` (default: :data:`PROFILES` by name; the one called
    ``real-sounds`` must have ESC-50 clips): the baseline and AM-DETR (``seeds`` training
    seeds from the profile's own) of each profile on each profile's test split, and the
    real-sounds models on their own test asked in paraphrases. With ``mix``, also AM-DETR
    trained on both profiles' simulated data at once (:data:`MIX`: the real-sounds encoder,
    both corpora and both ranges of event length) on both test splits. ``trained_on``
    keeps only the models of these profiles (default: all; ``mix`` needs real-sounds).
    Every run and feature store comes from the cache when it exists; with ``points`` (a
    folder), each trained model's predictions are also kept there as a grid point
    (``am-detr_<trained on>_seed<k>.json``, keyed on this machine's numerics and every
    profile's definition), so the study resumes on a machine without the run cache."""
    profiles = profiles or {name: load_profile(name) for name in PROFILES}
    real = "real-sounds"
    trained_on = list(profiles) if trained_on is None else list(trained_on)
    unknown = sorted(set(trained_on) - set(profiles))
    if unknown:
        raise ValueError(f"trained_on names unknown profiles {unknown}; "
                         f"choose among {sorted(profiles)}")
    if mix and real not in trained_on:
        raise ValueError(f"the model trained on both profiles uses the {real!r} encoder: "
                         f"mix needs {real!r} in trained_on")
    classes = query_classes(simulated(profiles[real], "test"))
    study = TransferStudy({}, {}, {}, classes, real)
    made = {} if points is None else {
        "numerics": fingerprint(),
        "profiles": {name: profile_key(profile) for name, profile in profiles.items()}}

    def point(trained: str, seed: int) -> Path | None:
        return None if points is None else Path(points) / f"am-detr_{trained}_seed{seed}.json"

    for model_name in trained_on:
        model_profile = profiles[model_name]
        params = run_baseline(model_profile).tuning.params
        splits: dict[tuple[str, str, str], MomentSplit] = {}
        found: dict[Key, list[MomentPrediction]] = {}
        for data_name, data_profile in profiles.items():
            test = study.tests[model_name, data_name] = domain_test(model_profile,
                                                                    data_profile)
            wordings = ["captions"] + (["paraphrases"] if model_name == data_name == real
                                       else [])
            for wording in wordings:
                asked = study.asked[model_name, data_name, wording] = study.questions(
                    data_name, wording)
                split, curves = requeried(test, asked)
                where = (model_name, data_name, wording)
                found[("baseline", *where, None)] = sliding.predict(
                    curves, asked, params, test.prepared.hop_s)
                splits[where] = split
        seeds_run = range(model_profile.seed, model_profile.seed + seeds)
        for seed in seeds_run:
            found.update(model_predictions(
                point(model_name, seed), made, [("am-detr", *where, seed) for where in splits],
                [study.asked[where] for where in splits],
                partial(trained_predictions, model_profile, list(splits.values()), seed,
                        device, progress)))
        for where in splits:          # each test's baseline, then its seeds
            for key in [("baseline", *where, None)] + [("am-detr", *where, seed)
                                                       for seed in seeds_run]:
                study.predictions[key] = found[key]
    if mix:
        others = [profile for name, profile in profiles.items() if name != real]
        start = profiles[real].seed
        for data_name in profiles:
            study.asked[MIX, data_name, "captions"] = study.tests[real, data_name].annotations
        tests = [study.tests[real, name].prepared.tensors() for name in profiles]
        for seed in range(start, start + seeds):
            study.predictions.update(model_predictions(
                point(MIX, seed), made,
                [("am-detr", MIX, name, "captions", seed) for name in profiles],
                [study.asked[MIX, name, "captions"] for name in profiles],
                partial(trained_predictions, profiles[real], tests, seed, device, progress,
                        others)))
    return study


def spread(rows: Sequence[dict[str, Any]], keys: Sequence[str],
           measures: Sequence[str] = MEASURES) -> list[dict[str, Any]]:
    """Rows grouped by ``keys``: each measure's mean and sample standard deviation
    (``_std``) over the group's seeds, and ``n_seeds``; groups in first-seen order."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row[k] for k in keys), []).append(row)
    table = []
    for key, members in groups.items():
        entry: dict[str, Any] = dict(zip(keys, key, strict=True))
        entry["n_seeds"] = len(members)
        for measure in measures:
            entry[measure], entry[f"{measure}_std"] = mean_and_spread(
                [m[measure] for m in members])
        table.append(entry)
    return table
