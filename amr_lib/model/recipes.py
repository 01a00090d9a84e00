"""Training recipes: AM-DETR as published, and the changes that go beyond the paper.

A recipe is a set of switches on the model (:class:`~amr_lib.model.am_detr.AMDETRConfig`)
and on training (:class:`~amr_lib.train.TrainingConfig` and its
:class:`~amr_lib.model.criterion.LossConfig`); every switch is off in ``paper``, so the
published model trains, and is keyed, exactly as before recipes existed.

- ``paper``: AM-DETR as published (QD-DETR's losses, present pairs only);
- ``presence``: a presence head (a logit from the encoder's global token, BCE) trained on
  absent pairs added to each batch, texts of other recordings; the moment and saliency
  losses ignore those pairs;
- ``class-aware``: absent pairs drawn by class (never a sound the recording holds, a share
  from the nearest class), added to each batch with every prediction background, so the
  top moment's score learns to mean "present"; rolled negatives are checked by class;
- ``in-recording``: the recording's other events are the hard negatives of a query: its
  saliency must rank the queried event's frames above theirs, and a prediction on another
  event is background at full weight;
- ``aware``: all of them together (presence head, absent pairs by class, other events).

Recipes with absent pairs take their share from ``absent_share`` (default
:data:`ABSENT_SHARE`): ``s`` of each grown batch.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:       # imported where used: the CLI lists recipes without loading torch
    from amr_lib.model.am_detr import AMDETRConfig
    from amr_lib.model.criterion import LossConfig

ABSENT_SHARE = 0.25
HARD_SHARE = 0.5          # of the absent texts by class: from the nearest class


@dataclass(frozen=True)
class Recipe:
    """The switches of one recipe (see the module docstring)."""

    name: str
    presence_head: bool = False
    absent: str = ""                  # "" (no absent pairs) | "text" | "class"
    other_events: bool = False

    @property
    def needs_classes(self) -> bool:
        """Does it read the split's sound classes (corpora labelled by class only)?"""
        return self.absent == "class" or self.other_events

    def model(self, config: AMDETRConfig) -> AMDETRConfig:
        return replace(config, presence_head=self.presence_head)

    def loss(self, config: LossConfig) -> LossConfig:
        return replace(config, presence=1.0 if self.presence_head else 0.0,
                       other_events=1.0 if self.other_events else 0.0,
                       absent_moments="ignore" if self.presence_head else "background")

    def training(self, absent_share: float = ABSENT_SHARE) -> dict[str, Any]:
        """The :class:`~amr_lib.train.TrainingConfig` fields this recipe sets."""
        if not self.absent:
            return {}
        return {"absent_share": absent_share, "absent_added": True,
                "absent_by_class": self.absent == "class",
                "hard_share": HARD_SHARE if self.absent == "class" else 0.0}

    def to_json(self, absent_share: float = ABSENT_SHARE) -> dict[str, Any]:
        """The recipe and what its switches set: what a grid point is keyed on."""
        from amr_lib.model.criterion import LossConfig

        return {"name": self.name, "model": {"presence_head": self.presence_head},
                "loss": {k: v for k, v in self.loss(LossConfig()).to_json().items()
                         if k in ("presence", "other_events", "absent_moments")},
                "training": self.training(absent_share)}


RECIPES = {recipe.name: recipe for recipe in (
    Recipe("paper"),
    Recipe("presence", presence_head=True, absent="text"),
    Recipe("class-aware", absent="class"),
    Recipe("in-recording", other_events=True),
    Recipe("aware", presence_head=True, absent="class", other_events=True),
)}


def recipe(name: str) -> Recipe:
    """The recipe called ``name`` (``ValueError`` listing the known ones otherwise)."""
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}; choose one of {', '.join(RECIPES)}")
    return RECIPES[name]
