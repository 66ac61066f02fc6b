"""What the user says about an article beside its text: ``metadata.csv`` and front matter.

Pure parsing, with no notion of dates: :mod:`rag.news.dates` reads the
``date`` field and decides how far to trust it. ``metadata.csv`` sits in the
indexed folder (columns ``file,date,outlet,url,author,date_source``); front
matter is a ``---`` block of ``key: value`` lines at the top of a .txt or .md
file. The article text itself is never edited.
"""

from __future__ import annotations

import csv
import io
import os
import re
from functools import lru_cache
from pathlib import Path

SIDECAR_NAME = "metadata.csv"


class SidecarError(ValueError):
    """A row of the user's ``metadata.csv`` or front matter cannot be read."""


def parse_front_matter(text: str) -> tuple[dict[str, str], str]:
    """Split ``---`` front matter (``key: value`` lines) from the body.

    >>> parse_front_matter("---\\ndate: 2024-03-14\\noutlet: Le Dauphiné\\n---\\nCorps")
    ({'date': '2024-03-14', 'outlet': 'Le Dauphiné'}, 'Corps')
    >>> parse_front_matter("Pas de front matter")
    ({}, 'Pas de front matter')
    """
    m = re.match(r"\ufeff?---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|$)", text, re.DOTALL)
    if not m:
        return {}, text
    fields: dict[str, str] = {}
    for line in m.group(1).splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() and not key.startswith((" ", "#")):
            fields[key.strip().lower()] = value.strip().strip("\"'")
    return fields, text[m.end() :]


def parse_sidecar(text: str) -> dict[str, dict[str, str]]:
    """Rows of a ``metadata.csv`` keyed by file (forward slashes), with a ``line`` field.

    >>> parse_sidecar("file,date,outlet\\nreprise.txt,2024-03-15,L'Écho\\n")["reprise.txt"]["outlet"]
    "L'Écho"
    """
    rows: dict[str, dict[str, str]] = {}
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if reader.fieldnames is None or "file" not in [f.strip().lower() for f in reader.fieldnames]:
        raise SidecarError(f"{SIDECAR_NAME} needs a header row with at least the columns file,date.")
    for row in reader:
        clean = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items() if k is not None}
        name = clean.get("file", "").replace("\\", "/").strip("/")
        if name:
            clean["line"] = str(reader.line_num)
            rows[name] = clean
    return rows


@lru_cache(maxsize=32)
def _read_sidecar(path: str, _mtime_ns: int, _size: int) -> dict[str, dict[str, str]]:
    # Keyed by modification time so an edited sidecar is read again.
    return parse_sidecar(Path(path).read_text(encoding="utf-8-sig"))


def sidecar_fields(
    folder: str | os.PathLike[str], file_name: str, *, text: str | None = None
) -> tuple[dict[str, str], str] | None:
    """The user's fields for one file and where they came from, or None.

    ``metadata.csv`` wins over front matter, field by field; the source is the
    sidecar line when it gives the date, else "front matter". Front matter is
    read from ``text`` when given (the file is then not opened).

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "metadata.csv").write_text("file,date,outlet\\na.txt,2023-11,L'Usine\\n")
    >>> _ = (d / "a.txt").write_text("---\\ndate: 2023-11-20\\nauthor: Jo\\n---\\nTexte")
    >>> fields, source = sidecar_fields(d, "a.txt")
    >>> fields["date"], fields["author"], source
    ('2023-11', 'Jo', 'metadata.csv line 2')
    """
    folder = Path(folder)
    name = str(file_name).replace("\\", "/").strip("/")
    merged: dict[str, str] = {}
    source = ""
    target = folder / name
    head = text
    if head is None and target.is_file() and target.suffix.lower() in (".txt", ".md"):
        with open(target, encoding="utf-8-sig", errors="replace") as fh:
            head = fh.read(4096)
    if head:
        fields, _ = parse_front_matter(head)
        if fields:
            merged, source = fields, "front matter"
    sidecar = folder / SIDECAR_NAME
    if sidecar.is_file():
        st = sidecar.stat()
        rows = _read_sidecar(str(sidecar), st.st_mtime_ns, st.st_size)
        row = rows.get(name) or rows.get(Path(name).name)
        if row is not None:
            merged = {**merged, **{k: v for k, v in row.items() if v}}
            if row.get("date") or not source:
                source = f"{SIDECAR_NAME} line {row['line']}"
    return (merged, source) if merged else None
