"""``amr experiment beyond``: each beyond-the-paper recipe against AM-DETR as published.

For every recipe of :mod:`amr_lib.model.recipes` (``paper`` included, which is Table I's
run) and training seed, on the profile's test split:

- **present queries**: R1@0.5, R1@0.7 and average mAP per query, and whether the top moment
  lands on the queried event (:func:`~amr_lib.experiments.controls.lands_on_queried`) with
  the several-event mask;
- **presence** (every test query with its own text and with an absent text drawn by class,
  so never a sound the recording holds): the calibrated presence probability of each pair
  (the recipe's stored calibration; the published model is calibrated the same way on its
  own signals, the top moment's logit and the highest saliency, on validation pairs), once
  with an absent text of any class and once of the nearest class (the hard case), with the
  AUROC, the ECE and the shares kept and refused at the calibration's threshold;
- **zero-shot SED** on the profile's SED test recordings (:mod:`amr_lib.experiments.sed`):
  each moment's score times the calibrated presence probability of its (recording, class
  prompt) for a recipe with a presence head (those without keep their raw moment scores,
  so the difference measures the head and its training together), the F1 at 0.5 and at
  the threshold tuned on the SED validation recordings, with each test recording's counts
  at that threshold (for the evidence rule over recordings) and the F1-threshold curve.

Beside the recipes, what the features themselves tell (``OUT/features_presence.json``,
:func:`features_presence`): on the same presence pairs, the best cosine similarity between
a window of the recording and the text in the feature encoder's joint audio-text space,
the sliding-window baseline's signal before any moment model is trained: the reference
for a presence score read from those features (not a ceiling: a trained head can pass it).

Every point is written to ``OUT/points/`` as soon as it exists and read back when made
under this machine's numerics, the profile's definition and the recipe's switches. A
finished grid of another kind of machine is read back whole with ``any_numerics`` (each
point keeps its fingerprint under ``numerics``), so a new machine can rebuild its tables
without CPU days of training. A grid is never *mixed* across numerics, though: a machine's
numerics train its own contrastive encoder (other weights, other features), so recipes
trained on two machines would differ by their encoders as well as by their recipes. A
grid with points missing, or with points of several numerics, is therefore finished under
this machine's numerics, remaking the points of any other (:func:`one_numerics`). Rows
keep per-unit values: per query, per presence pair, per SED recording.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from amr_lib.baseline import JOINT_SPACE_ENCODERS, frame_similarity
from amr_lib.config import resolve_device
from amr_lib.experiments.controls import lands_on_queried, several_events
from amr_lib.experiments.evidence import per_query
from amr_lib.experiments.results import point_made, rounded_queries, stored_point, write_json
from amr_lib.experiments.sed import SedData, sed_data
from amr_lib.model.recipes import ABSENT_SHARE, RECIPES, Recipe
from amr_lib.presence import (
    Calibration,
    PresencePairs,
    calibrate_probability,
    expected_calibration_error,
    presence_auroc,
    presence_pairs,
    presence_signals,
    stored_calibration,
)
from amr_lib.profiles import Profile, profile_key
from amr_lib.runs.chain import (
    BEST,
    check_classes,
    feature_encoder,
    prepare,
    train_profile,
    window_config,
)
from amr_lib.sed.detectors import best_threshold, detr_moments, validation_thresholds
from amr_lib.sed.scoring import DEFAULT_THRESHOLD, f1_curve, micro_scores

BEYOND = "beyond.json"
FEATURES = "features_presence.json"
POINTS = "points"
METRICS = ("R1@0.5", "R1@0.7", "mAP")
PAIRS_SEED = 101            # draws the test's absent texts: the same pairs for every recipe


def point_name(recipe: Recipe, share: float, seed: int) -> str:
    share_part = f"_s{share:g}" if recipe.absent else ""
    return f"{recipe.name}{share_part}_seed{seed}"


def point_key(profile: Profile, recipe: Recipe, share: float, numerics: str | None = None
              ) -> dict[str, Any]:
    """What a point is keyed and found by: the numerics that made it (default: this
    machine's), the profile's definition and the recipe's switches at its absent share."""
    made = (point_made(profile) if numerics is None
            else {"numerics": numerics, "profile": profile_key(profile)})
    return {**made, "recipe": recipe.to_json(share)}


def reusable(made: dict[str, Any], any_numerics: bool) -> dict[str, Any]:
    """What a stored point must share with ``made`` to be read back: everything, or,
    with ``any_numerics``, everything but the machine's numerics fingerprint."""
    return {key: value for key, value in made.items()
            if not (any_numerics and key == "numerics")}


def recipe_point(profile: Profile, recipe: Recipe, share: float, seed: int, out: Path,
                 device: str = "auto", any_numerics: bool = False) -> dict[str, Any]:
    """One (recipe, absent share, seed) point (see the module docstring), read from
    ``out/points/`` when made as now (under any numerics with ``any_numerics``), else
    trained (or taken from the run cache)."""
    made = point_key(profile, recipe, share)
    path = out / POINTS / f"{point_name(recipe, share, seed)}.json"
    if (stored := stored_point(path, reusable(made, any_numerics))) is not None:
        return stored
    started = time.perf_counter()
    run = train_profile(profile, device, progress=False, seed=seed, recipe=recipe,
                        absent_share=share if recipe.absent else 0.0)
    model, used = run.result.model, resolve_device(device)
    valid = run.splits["valid"].tensors(classes=True)
    test = run.splits["test"].tensors(classes=True)
    calibration = stored_calibration(run.run_dir / BEST) or calibrate_probability(
        model, valid, profile.seed, by_class=True, device=used)
    annotations = list(test.annotations)
    queries = per_query(annotations, run.test_predictions, METRICS)
    queries["lands_on_queried"] = lands_on_queried(annotations, run.test_predictions)
    # the point's "recipe" is its switches (``made``): what it is keyed and found by
    point = {"absent_share": share if recipe.absent else None,
             "seed": seed, "report": {m: float(np.mean(queries[m])) for m in METRICS},
             "queries": rounded_queries(queries),
             "several_events": [int(f) for f in several_events(annotations)],
             "calibration": calibration.to_json(),
             "presence": presence_report(model, test, calibration, profile.seed, used),
             "sed": sed_report(profile, model, calibration if recipe.presence_head else None,
                               used),
             "best_epoch": run.result.best_epoch, "epochs": len(run.result.history),
             "seconds": round(time.perf_counter() - started, 1), **made}
    write_json(path, point)
    return point


def presence_report(model, test, calibration: Calibration, seed: int, device
                    ) -> dict[str, Any]:
    """Per test query, the calibrated probability with its own text and with an absent
    text of any class (``any``) or of the nearest class (``hard``), and their summaries."""
    report: dict[str, Any] = {}
    for case, pairs in scored_pairs(test, seed).items():
        probability = calibration.probability(presence_signals(model, test, pairs,
                                                               device=device))
        present = pairs.present
        found = probability >= calibration.threshold
        report[case] = {
            "auroc": presence_auroc(probability, present),
            "ece": expected_calibration_error(probability, present),
            "present_kept": float(found[present].mean()),
            "absent_refused": float((~found[~present]).mean()),
            # per query: (probability with its own text, with the absent one)
            "pairs": np.round(np.stack([probability[present], probability[~present]],
                                       axis=1), 4).tolist()}
    return report


def scored_pairs(test, seed: int) -> dict[str, PresencePairs]:
    """The presence pairs every recipe (and the features' reference) is scored on: each
    test query with its own text and an absent one by class, of any class (``any``) or
    of the nearest (``hard``), drawn with ``seed + PAIRS_SEED``."""
    return {case: presence_pairs(test, seed + PAIRS_SEED, by_class=True, hard_share=hard)
            for case, hard in (("any", 0.0), ("hard", 1.0))}


def features_presence(profile: Profile, out: Path, any_numerics: bool = False
                      ) -> dict[str, Any] | None:
    """What the profile's features tell before any moment model: per test pair of
    :func:`scored_pairs`, the highest cosine similarity between a window of the recording
    and the text in the feature encoder's joint audio-text space (the sliding-window
    baseline's curve), with its AUROC; ``None`` for an encoder without a joint
    audio-text space. Read from ``out`` when made as now (under any numerics with
    ``any_numerics``)."""
    if profile.retrieval.encoder not in JOINT_SPACE_ENCODERS:
        return None
    made = point_made(profile)
    if (stored := stored_point(out / FEATURES, reusable(made, any_numerics))) is not None:
        return stored
    prepared = prepare(profile, "test", feature_encoder(profile))
    test = prepared.tensors(classes=True)
    annotations = test.annotations
    frames = {vid: prepared.store.load_audio(vid) for vid in {a.vid for a in annotations}}
    sentences = {qid: prepared.store.load_sentence(qid) for qid in {a.qid for a in annotations}}
    report: dict[str, Any] = {"signal": "best window similarity", **made}
    for case, pairs in scored_pairs(test, profile.seed).items():
        best = np.array([
            frame_similarity(frames[annotations[row].vid],
                             sentences[annotations[text].qid]).max()
            for row, text in zip(pairs.rows.tolist(), pairs.text_rows.tolist(),
                                 strict=True)])
        present = pairs.present
        report[case] = {"auroc": presence_auroc(best, present),
                        "pairs": np.round(np.stack([best[present], best[~present]],
                                                   axis=1), 4).tolist()}
    write_json(out / FEATURES, report)
    return report


def sed_report(profile: Profile, model, calibration: Calibration | None, device
               ) -> dict[str, Any]:
    """Zero-shot SED F1 of ``model`` (moments weighted by the calibrated presence where
    ``calibration`` is given), tuned on the SED validation recordings."""
    encoder = feature_encoder(profile)
    hop = window_config(profile).hop_s
    parts = {name: sed_data(profile, name, encoder) for name in ("valid", "test")}
    scores = {name: detector_scores(model, part, calibration, hop, device)
              for name, part in parts.items()}
    grid = validation_thresholds(scores["valid"], DEFAULT_THRESHOLD)
    reference = {name: part.split.task.reference() for name, part in parts.items()}
    tuned = best_threshold(f1_curve(reference["valid"], scores["valid"], grid))
    test = parts["test"].split.task
    curve = f1_curve(reference["test"], scores["test"], grid)
    return {"default": micro_scores(reference["test"], scores["test"] > DEFAULT_THRESHOLD),
            "tuned_threshold": round(float(tuned), 6),
            "tuned": micro_scores(reference["test"], scores["test"] > tuned),
            "recordings": recording_counts(test, reference["test"], scores["test"] > tuned),
            "curve": {key: [round(float(v), 6) for v in values]
                      for key, values in curve.items()}}


def detector_scores(model, part: SedData, calibration: Calibration | None, hop: float,
                    device) -> np.ndarray:
    """``(N, C)`` frame scores of AM-DETR's moments on every (recording, class prompt),
    each moment's score times the pair's presence probability when ``calibration``."""
    task = part.split.task
    signals: dict = {}
    moments = detr_moments(model, part.frames, part.prompt_tokens, task.durations, hop,
                           device, signals=signals)
    if calibration is not None:
        for pair, rows in moments.items():
            values = {name: np.array([value]) for name, value in signals[pair].items()}
            rows[:, 2] = rows[:, 2] * calibration.probability(values)[0]
    return task.moment_scores(moments)


def recording_counts(task, reference: np.ndarray, decisions: np.ndarray) -> list[list[int]]:
    """Per recording, ``[true positives, false positives, false negatives]`` of the frame
    cells: the units the evidence rule resamples for an F1."""
    counts, start = [], 0
    for vid in task.vids:
        stop = start + task.frames(vid)
        truth, said = reference[start:stop], decisions[start:stop]
        counts.append([int((truth & said).sum()), int((~truth & said).sum()),
                       int((truth & ~said).sum())])
        start = stop
    return counts


def f1_of_counts(counts: np.ndarray) -> float:
    """Micro F1 (fraction) of ``(U, 3)`` per-recording [tp, fp, fn] counts."""
    tp, fp, fn = np.asarray(counts, dtype=np.float64).sum(0)
    return float(2 * tp / (2 * tp + fp + fn)) if tp else 0.0


def auroc_of_pairs(pairs: np.ndarray) -> float:
    """AUROC of ``(U, 2)`` per-query [present, absent] probabilities: the Mann-Whitney
    statistic from average ranks (ties count half), as scikit-learn's ``roc_auc_score``
    gives, at a fraction of its cost (the evidence rule computes it thousands of times)."""
    from scipy.stats import rankdata

    pairs = np.asarray(pairs, dtype=np.float64)
    count = len(pairs)
    ranks = rankdata(np.concatenate([pairs[:, 0], pairs[:, 1]]))
    return float((ranks[:count].sum() - count * (count + 1) / 2) / (count * count))


def one_numerics(profile: Profile, points: Sequence[tuple[Recipe, float, int]], out: Path
                 ) -> str | None:
    """The numerics fingerprint under which every point of ``points`` ``(recipe, share,
    seed)`` and the features' reference are stored in ``out`` (whatever machine made them),
    or ``None`` when one is missing or they were made under several numerics."""
    stored = [stored_point(out / POINTS / f"{point_name(recipe, share, seed)}.json",
                           reusable(point_key(profile, recipe, share), True))
              for recipe, share, seed in points]
    if profile.retrieval.encoder in JOINT_SPACE_ENCODERS:
        stored.append(stored_point(out / FEATURES, reusable(point_made(profile), True)))
    if any(point is None for point in stored):
        return None
    numerics = {point["numerics"] for point in stored}
    return numerics.pop() if len(numerics) == 1 else None


def run_beyond(profile: Profile, seeds: int = 3, out_dir: str | Path = "beyond",
               recipes: Sequence[str] = tuple(RECIPES),
               absent_shares: Sequence[float] = (ABSENT_SHARE,), device: str = "auto",
               any_numerics: bool = False) -> list[dict[str, Any]]:
    """Every point of ``recipes`` x ``absent_shares`` (recipes with absent pairs) x
    ``seeds``, written to ``out_dir/beyond.json`` (one row per recipe and share, its seeds'
    points in ``per_seed``); ``any_numerics``: see the module docstring."""
    if seeds < 1:
        raise ValueError(f"seeds must be at least 1, got {seeds}")
    check_classes(profile)          # every point reads classes: refuse Clotho before training
    out = Path(out_dir)
    cells = [(name, share) for name in recipes
             for share in (absent_shares if RECIPES[name].absent else (None,))]
    seed_range = range(profile.seed, profile.seed + seeds)
    # another machine's grid is read back only whole and made under one numerics
    any_numerics = any_numerics and one_numerics(profile, [
        (RECIPES[name], share or 0.0, seed) for name, share in cells
        for seed in seed_range], out) is not None
    features_presence(profile, out, any_numerics)   # first: a running grid shows it
    # seed by seed (every recipe at the first seed first): a grid that spans sessions has
    # a whole one-seed table long before it has a recipe's every seed
    made = {(cell, seed): recipe_point(profile, RECIPES[cell[0]], cell[1] or 0.0, seed, out,
                                       device, any_numerics)
            for seed in seed_range for cell in cells}
    rows = [{"recipe": name, "absent_share": share, "profile": profile.name,
             "n_seeds": seeds, "per_seed": [made[(name, share), seed] for seed in seed_range]}
            for name, share in cells]
    write_json(out / BEYOND, rows)
    return rows
