"""What the book's chapters share, so that a chapter's cells show the calls, the numbers
and the figures, not the bookkeeping.

- :mod:`~amr_lib.book.pages`: committed results and the lines that say what made them,
  the one data-available switch of a chapter, result tables with their seed spread, and
  the values glued into the prose;
- one module per chapter that needs more (example choice by rule, figure assembly):
  :mod:`~amr_lib.book.baseline`, :mod:`~amr_lib.book.ablations`,
  :mod:`~amr_lib.book.transfer`, :mod:`~amr_lib.book.occurrences`.
"""
