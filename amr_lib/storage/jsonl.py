"""JSON Lines plumbing shared by every JSONL format in the project.

Reading yields ``(line_number, object)`` for each non-blank line and raises the caller's
error type with ``path:line:`` in front of the message; writing is atomic (a temporary
file in the same folder, renamed into place), so a crash never leaves half a file.

Lines are parsed with orjson (several times faster than the standard library on the
100,000-line files of a Clotho-Moment evaluation); a line it refuses is parsed again by
the standard library, so a bad line gets the standard library's message and the
non-standard ``NaN``/``Infinity`` literals still reach the callers' checks, as before.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from amr_lib.storage.atomic import atomic_write


def read_json_lines(path: Path, error: type[Exception] = ValueError
                    ) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, object)`` for each non-blank line of ``path``."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    with path.open("rb") as lines:
        for line_number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                record = _standard_parse(line, path, line_number, error)
            if not isinstance(record, dict):
                raise error(f"{path}:{line_number}: expected a JSON object, "
                            f"got {type(record).__name__}")
            yield line_number, record


def _standard_parse(line: bytes, path: Path, line_number: int,
                    error: type[Exception]) -> Any:
    try:
        return json.loads(line.decode("utf-8"))
    except UnicodeDecodeError as problem:
        raise error(f"{path}:{line_number}: not UTF-8 text ({problem.reason} at byte "
                    f"{problem.start + 1})") from None
    except json.JSONDecodeError as problem:
        raise error(f"{path}:{line_number}: not valid JSON "
                    f"({problem.msg} at column {problem.colno})") from None


def write_json_lines(path: Path, records: Iterable[dict[str, Any]]) -> None:
    """Write one JSON object per line, atomically; NaN and infinity are refused."""
    def write(temporary: Path) -> None:
        with temporary.open("w", encoding="utf-8") as out:
            for record in records:
                out.write(json.dumps(record, allow_nan=False) + "\n")

    atomic_write(path, write)
