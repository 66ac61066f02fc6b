"""Check the citations of answer records against the index: ``rag check`` and ``rag.check``.

An answer record is the project's JSON shape (``rag ask --json``, the web
chat's ``/ask`` endpoint, :meth:`rag.records.Answer.to_dict`). For each
citation the checker reports, each failure by name:

- ``unknown_document``: the cited ``doc_id`` is not in the index;
- ``document_changed``: the document's sha256 is not the one the answer was made
  from (only when the record carries ``doc_sha256``);
- ``shifted_span``: the quote is in the document, but not at ``[start:end]``;
- ``altered_quote``: the quote is nowhere in the document;
- ``unsupported``: the support judge does not find the answer sentence carrying
  the citation's marker in the quote;
- ``missing_citation``: the answer carries a marker (``[2]``) that no citation of
  the record has: the claim points to nothing (reported with an empty ``doc_id``).

>>> import rag                                                  # doctest: +SKIP
>>> report = rag.check([answer.to_dict()], index_dir="index/")  # doctest: +SKIP
>>> report.ok, report.failures()                                # doctest: +SKIP
(True, {})
"""

from __future__ import annotations

import json
import sys
import types
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.answer.markers import answer_sentences, parse_markers
from rag.errors import RagError

if TYPE_CHECKING:
    from rag.assistant import Assistant
    from rag.records import Document

FAILURES = ("unknown_document", "document_changed", "shifted_span", "altered_quote", "unsupported",
            "missing_citation")
SupportsFn = Callable[[str, str], bool]


@dataclass
class CitationCheck:
    """The checks of one citation of one answer record."""

    record: int
    marker: int
    doc_id: str
    sentence: str
    quote: str
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


@dataclass
class CheckReport:
    """All citations checked; ``ok`` when none failed."""

    checks: list[CitationCheck] = field(default_factory=list)
    records: int = 0
    skipped: list[str] = field(default_factory=list)  # records that are errors or not answers
    judge: str = ""

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def failures(self) -> dict[str, int]:
        """How many citations failed each check, by failure name."""
        return dict(Counter(f for c in self.checks for f in c.failures))

    def to_dict(self) -> dict[str, Any]:
        citations = len(self.checks) - self.failures().get("missing_citation", 0)
        return {"ok": self.ok, "records": self.records, "citations": citations, "judge": self.judge,
                "failures": self.failures(), "skipped": self.skipped, "checks": [c.to_dict() for c in self.checks]}

    def table(self) -> str:
        """A short plain-text table: one line per citation, then the totals."""
        rows = [f"{'rec':>3} {'[n]':>4}  {'doc_id':30.30}  result"]
        for c in self.checks:
            rows.append(f"{c.record:>3} {'[' + str(c.marker) + ']':>4}  {c.doc_id or '-':30.30}  "
                        + ("ok" if c.ok else ", ".join(c.failures)))
        failed = sum(not c.ok for c in self.checks)
        missing = self.failures().get("missing_citation", 0)
        counted = f"{len(self.checks) - missing} citation(s)" + (
            f" and {missing} marker(s) with no citation" if missing else "")
        rows.append(f"{counted} in {self.records} record(s): "
                    f"{len(self.checks) - failed} ok, {failed} failed (judge: {self.judge})")
        rows.extend(f"skipped: {s}" for s in self.skipped)
        return "\n".join(rows)


def check_citation(citation: Mapping[str, Any], sentence: str, documents: Mapping[str, Document],
                   supports: SupportsFn, *, record: int = 0) -> CitationCheck:
    """Check one citation (a dict of the record's shape) made for ``sentence``.

    >>> from rag.records import Document
    >>> docs = {"a": Document("a", "T", "Zorglub a levé 12 M€ mardi. Fin.", "a.txt", "h")}
    >>> c = {"marker": 1, "doc_id": "a", "start": 0, "end": 27, "quote": "Zorglub a levé 12 M€ mardi."}
    >>> check_citation(c, "Zorglub a levé 12 M€.", docs, lambda claim, ev: True).failures
    []
    >>> check_citation({**c, "start": 1, "end": 28}, "Zorglub a levé 12 M€.", docs, lambda claim, ev: True).failures
    ['shifted_span']
    """
    doc_id = str(citation.get("doc_id", ""))
    quote = str(citation.get("quote", ""))
    out = CitationCheck(record=record, marker=int(citation.get("marker", 0)), doc_id=doc_id,
                        sentence=sentence, quote=quote)
    doc = documents.get(doc_id)
    if doc is None:
        out.failures.append("unknown_document")
        return out
    expected = citation.get("doc_sha256")
    if expected and expected != doc.sha256:
        out.failures.append("document_changed")
    start, end = int(citation.get("start", -1)), int(citation.get("end", -1))
    if not (0 <= start <= end <= len(doc.text)) or doc.text[start:end] != quote:
        found = doc.text.find(quote) if quote else -1
        if found >= 0:
            out.failures.append("shifted_span")
            out.notes.append(f"quote found at [{found}:{found + len(quote)}], not [{start}:{end}]")
        else:
            out.failures.append("altered_quote")
    if not sentence:
        out.notes.append("no answer sentence carries this marker")
    elif not supports(sentence, quote):
        out.failures.append("unsupported")
    return out


def check_record(record: Mapping[str, Any], documents: Mapping[str, Document], supports: SupportsFn,
                 *, index: int = 0) -> list[CitationCheck]:
    """Check every citation of one answer record, each against the sentence its marker ends,
    and every marker of the answer for a citation behind it (``missing_citation``)."""
    answer = str(record.get("answer", ""))
    sentence_of: dict[int, str] = {}
    for sentence, markers in answer_sentences(answer):
        for m in markers:
            sentence_of.setdefault(m, sentence)
    citations = record.get("citations") or []
    checks = [check_citation(c, sentence_of.get(int(c.get("marker", 0)), ""), documents, supports, record=index)
              for c in citations]
    for m in dangling_markers(answer, citations):
        checks.append(CitationCheck(record=index, marker=m, doc_id="", sentence=sentence_of.get(m, ""), quote="",
                                    failures=["missing_citation"],
                                    notes=[f"the answer has [{m}] but the record has no citation {m}"]))
    return checks


def dangling_markers(answer: str, citations: Iterable[Mapping[str, Any]]) -> list[int]:
    """The answer's markers that no citation carries, in order of appearance.

    >>> dangling_markers("Mistral vaut 100 milliards [2]. OpenAI perd 5 milliards [1].", [{"marker": 1}])
    [2]
    >>> dangling_markers("Oui [1].", []), dangling_markers("Oui [1, 2].", [{"marker": 1}, {"marker": 2}])
    ([1], [])
    """
    cited: set[int] = set()
    for c in citations:
        try:
            cited.add(int(c.get("marker", 0)))
        except (TypeError, ValueError):
            continue
    return [m for m in parse_markers(answer) if m not in cited]


def llm_judge(spec: str, assistant: Assistant) -> SupportsFn:
    """The LLM support judge of :mod:`rag.answer.entail` (P(yes) against its threshold):
    ``"llm"`` for the assistant's model, or the URL of an OpenAI-compatible server."""
    try:
        from rag.answer.entail import LLMJudge
    except ImportError as exc:
        raise RagError("The LLM support judge (rag/answer/entail.py) is not available in this version; "
                       "use the default judge (leave out --judge).") from exc
    if spec == "llm":
        llm = assistant.llm
    else:
        from rag.answer.llm_http import OpenAICompatLLM

        s = assistant.settings
        llm = OpenAICompatLLM(spec, s.llm_model, timeout=s.llm_timeout, api_key=s.llm_api_key or None)
    if not hasattr(llm, "yes_probability"):
        raise RagError(f"{type(llm).__name__} cannot judge support (no yes/no probabilities); "
                       "use --judge llm or the default judge.")
    return LLMJudge(llm, label="llm" if spec == "llm" else "llm-server").supports


def check(records: Iterable[Mapping[str, Any]], *, assistant: Assistant | None = None,
          index_dir: str | Path | None = None, judge: str | SupportsFn | None = None) -> CheckReport:
    """Check the citations of answer records against an index (see the module docstring).

    ``assistant`` (or ``index_dir``, or the settings' index) gives the documents;
    ``judge`` is ``None`` for the assistant's deterministic judge, ``"llm"`` or a
    server URL for the LLM judge, or any ``supports(claim, evidence) -> bool``.
    """
    if assistant is None:
        from rag.assistant import Assistant

        assistant = Assistant.open(index_dir)
    if judge is None or judge == "lexical":
        supports, name = assistant.judge.supports, type(assistant.judge).__name__
    elif isinstance(judge, str):
        supports = llm_judge(judge, assistant)
        name = "llm" if judge == "llm" else f"llm-server {judge}"
    else:
        supports, name = judge, getattr(judge, "__name__", "custom")
    documents = assistant.data.documents
    report = CheckReport(judge=name)
    for i, record in enumerate(records):
        report.records += 1
        if not isinstance(record, Mapping) or "error" in record or "answer" not in record:
            detail = record.get("error") if isinstance(record, Mapping) else type(record).__name__
            report.skipped.append(f"record {i}: not an answer ({detail})")
            continue
        report.checks.extend(check_record(record, documents, supports, index=i))
    return report


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """Answer records from a file: JSON Lines, one JSON object, or a JSON list.

    ``rag ask --json`` prints one indented object; ``rag ask --json >> answers.jsonl``
    several times gives concatenated objects, which are read too.
    """
    text = Path(path).read_text(encoding="utf-8")
    decoder = json.JSONDecoder()
    records: list[dict[str, Any]] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            break
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            line, column = error_position(text, exc.pos, pos)
            raise RagError(f"{path}: not JSON at line {line}, column {column} ({exc.msg}). "
                           "Give answer records as JSON Lines (`rag ask --json`, the /ask endpoint).") from exc
        records.extend(value if isinstance(value, list) else [value])
    return records


def error_position(text: str, pos: int, start: int = 0) -> tuple[int, int]:
    """(line, column), both from 1, of a JSON error at ``pos`` in a record that begins at ``start``.

    The decoder skips white space before it says what it expected, so a record cut short
    at the end of line 1 was reported at line 2, column 1 (or past the last line): such
    an error is placed just after the record's last character instead.

    >>> error_position('{"answer": "x"\\n{"answer": "y"}\\n', 15)   # line 1 lacks its closing brace
    (1, 15)
    >>> error_position('{"a": 1}\\nnope\\n', 9, start=9)           # line 2 is not JSON
    (2, 1)
    >>> error_position('{"a": 1 oops}', 8)
    (1, 9)
    """
    back = pos
    while back > start and text[back - 1].isspace():
        back -= 1
    if "\n" in text[back:pos] or pos >= len(text):
        pos = back
    return text.count("\n", 0, pos) + 1, pos - (text.rfind("\n", 0, pos) + 1) + 1


class _CallableModule(types.ModuleType):
    """``rag.check(records)`` calls :func:`check`: importing this submodule sets the
    package attribute ``rag.check`` to the module, so the module itself must be callable."""

    def __call__(self, *args: Any, **kwargs: Any) -> CheckReport:
        return check(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
