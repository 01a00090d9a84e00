"""Bibliography labels in the author-year style of the citations.

The text cites "Munakata et al., 2025" (``bibtex_reference_style: author_year``), but
pybtex's built-in label styles print "[MNNK25]" or "[1]" in the reference list. This
extension registers a pybtex style whose labels read like the citations: "Munakata et al.,
2025", "Drossos and Virtanen, 2020", "Kuhn, 1955"; entries are sorted by author and year.
"""

from __future__ import annotations

from pybtex.plugin import register_plugin
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.sorting.author_year_title import SortingStyle

STYLE = "author_year_labels"


def _surname(person) -> str:
    return " ".join(person.prelast_names + person.last_names).replace("{", "").replace("}", "")


class AuthorYearLabelStyle(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        for entry in sorted_entries:
            authors = entry.persons.get("author", [])
            year = entry.fields.get("year", "n.d.")
            if len(authors) == 1:
                names = _surname(authors[0])
            elif len(authors) == 2:
                names = f"{_surname(authors[0])} and {_surname(authors[1])}"
            else:
                names = f"{_surname(authors[0])} et al."
            yield f"{names}, {year}"


class AuthorYearStyle(UnsrtStyle):
    default_label_style = STYLE
    default_sorting_style = "author_year_title"


def setup(app):
    register_plugin("pybtex.style.labels", STYLE, AuthorYearLabelStyle)
    register_plugin("pybtex.style.sorting", "author_year_title", SortingStyle)
    register_plugin("pybtex.style.formatting", STYLE, AuthorYearStyle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
