"""Sound classes of simulated queries, and which classes a caption can name.

Corpora labelled by class (ESC-50, the synthetic corpus) give each query the class of the
clip it was made from (:func:`query_classes`). A recording *holds* the classes of its
events, so a query of any other class is truly absent from it, which a pairing by text
alone cannot promise: two clips of one class have different captions.

Two classes are *entangled* (:func:`entangled_pairs`) when a caption of one names the other:
it holds a word of the other's class name, or that word with a short ending ("barking" for
"bark"). ESC-50's "rain and thunder in a storm" is a thunderstorm caption that names rain,
so a rain recording is no place for it to be absent from. The rule reads every caption of
every clip of each class in the whole corpus (:func:`class_captions`), so every split of
one corpus entangles the same classes, and it errs towards entangling (sea waves "breaking"
entangles glass_breaking), which only withholds a few absent pairs.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence

from amr_lib.corpora import make_clip_corpus
from amr_lib.simulation.clotho_moment import SimulatedSplit

SHORTEST_WORD = 3        # letters: shorter parts of a class name ("a", "of") name nothing
LONGEST_ENDING = 3       # letters a caption's word may add to a class word ("s", "ing")


def query_classes(simulated: SimulatedSplit) -> list[str]:
    """The sound class of each query of ``simulated``, in its annotations' order
    (``CorpusError`` for a corpus of captions without classes, such as Clotho)."""
    corpus = make_clip_corpus(simulated.clip_corpus, simulated.config.sample_rate)
    by_qid = {event.qid: corpus.category(event.clip_id)
              for recipe in simulated.recipes for event in recipe.events}
    return [by_qid[annotation.qid] for annotation in simulated.annotations]


def class_captions(simulated: SimulatedSplit) -> dict[str, tuple[str, ...]]:
    """Every caption of every clip of each class in ``simulated``'s clip corpus (all its
    splits), classes in name order."""
    corpus = make_clip_corpus(simulated.clip_corpus, simulated.config.sample_rate)
    captions: dict[str, list[str]] = {}
    for clip in corpus:
        captions.setdefault(corpus.category(clip.clip_id), []).extend(clip.captions)
    return {name: tuple(dict.fromkeys(captions[name])) for name in sorted(captions)}


def class_words(name: str) -> tuple[str, ...]:
    """The words of a class name that can name it in a caption (``"glass_breaking"`` ->
    ``("glass", "breaking")``)."""
    return tuple(word for word in re.split(r"[_\s-]+", name.lower())
                 if len(word) >= SHORTEST_WORD)


def names(caption: str, name: str) -> bool:
    """Does ``caption`` hold a word of class ``name`` (or that word with a short ending)?"""
    words = class_words(name)
    return any(token.startswith(word) and len(token) - len(word) <= LONGEST_ENDING
               for token in re.findall(r"[a-z]+", caption.lower()) for word in words)


def entangled_pairs(captions: Mapping[str, Sequence[str]]) -> frozenset[frozenset[str]]:
    """The pairs of classes of which one has a caption naming the other."""
    return frozenset(frozenset((a, b)) for a, b in itertools.permutations(captions, 2)
                     if any(names(caption, b) for caption in captions[a]))
