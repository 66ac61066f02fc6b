"""QA sets for ``rag eval`` and ``rag bench``: one JSON object per line.

Each line holds ``id``, ``lang``, ``question``, ``answers`` (strings the answer
must contain), ``gold`` (exact quotes of the documents that support it) and
``answerable``; an overview question may add ``facts``, the main facts a summary
should give, each a list of strings any one of which shows it (``fact_recall``).
A bad file or line raises :class:`~rag.errors.DatasetError` naming the file, the
line and what to fix.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rag.errors import DatasetError
from rag.text.analysis import LANGUAGES

# `rag eval` / `rag bench` without a dataset path use the repository's dev set,
# found from the package so the commands work from any working directory.
DEFAULT_DATASET = Path(__file__).resolve().parents[2] / "eval" / "dev.jsonl"


@dataclass(frozen=True)
class GoldQuote:
    """An exact substring ``quote`` of document ``doc`` that supports the answer."""

    doc: str
    quote: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class EvalItem:
    """One question of a QA set (one JSONL line)."""

    id: str
    lang: str
    question: str
    answers: tuple[str, ...] = ()
    gold: tuple[GoldQuote, ...] = ()
    answerable: bool = True
    facts: tuple[tuple[str, ...], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": self.id,
            "lang": self.lang,
            "question": self.question,
            "answers": list(self.answers),
            "gold": [g.to_dict() for g in self.gold],
            "answerable": self.answerable,
        }
        if self.facts:
            d["facts"] = [list(f) for f in self.facts]
        return d

    @classmethod
    def from_dict(cls, d: Any) -> EvalItem:
        """Validate and build an item; raises ValueError saying which field is wrong.

        >>> EvalItem.from_dict({"id": "q1", "lang": "fr", "question": "Qui ?",
        ...     "answers": ["Paul"], "gold": [{"doc": "a.txt", "quote": "Paul"}],
        ...     "answerable": True}).gold[0].doc
        'a.txt'
        """
        if not isinstance(d, dict):
            raise ValueError("expected a JSON object")
        for key in ("id", "lang", "question", "answers", "gold", "answerable"):
            if key not in d:
                raise ValueError(f"missing field {key!r}")
        item_id, lang, question = d["id"], d["lang"], d["question"]
        if not isinstance(item_id, str) or not item_id.strip():
            raise ValueError("'id' must be a non-empty string")
        if lang not in LANGUAGES:
            raise ValueError(f"'lang' must be one of {list(LANGUAGES)}, got {lang!r}")
        if not isinstance(question, str) or not question.strip():
            raise ValueError("'question' must be a non-empty string")
        if not isinstance(d["answerable"], bool):
            raise ValueError("'answerable' must be true or false")
        answers = d["answers"]
        if not isinstance(answers, list) or not all(isinstance(a, str) and a.strip() for a in answers):
            raise ValueError("'answers' must be a list of non-empty strings")
        gold_raw = d["gold"]
        if not isinstance(gold_raw, list):
            raise ValueError("'gold' must be a list of {doc, quote} objects")
        gold = []
        for g in gold_raw:
            if (not isinstance(g, dict) or not isinstance(g.get("doc"), str) or not g["doc"]
                    or not isinstance(g.get("quote"), str) or not g["quote"].strip()):
                raise ValueError("each 'gold' entry needs non-empty string 'doc' and 'quote'")
            gold.append(GoldQuote(doc=g["doc"], quote=g["quote"]))
        if d["answerable"] and not answers:
            raise ValueError("an answerable question needs at least one entry in 'answers'")
        if d["answerable"] and not gold:
            raise ValueError("an answerable question needs at least one 'gold' quote")
        if not d["answerable"] and answers:
            raise ValueError("an unanswerable question must have empty 'answers'")
        facts = d.get("facts", [])
        if (not isinstance(facts, list) or not all(isinstance(f, list) and f for f in facts)
                or not all(isinstance(x, str) and x.strip() for f in facts for x in f)):
            raise ValueError("'facts' must be a list of non-empty lists of non-empty strings")
        if facts and not d["answerable"]:
            raise ValueError("an unanswerable question has no 'facts'")
        return cls(id=item_id, lang=lang, question=question, answers=tuple(answers),
                   gold=tuple(gold), answerable=d["answerable"], facts=tuple(tuple(f) for f in facts))


def load_dataset(path: str | Path) -> list[EvalItem]:
    """Read a JSONL QA set; a bad file or line raises :class:`DatasetError` naming the file and line."""
    path = Path(path)
    fix = "fix it or give another dataset path"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise DatasetError(f"{path}: dataset not found; give the path of a JSONL QA set "
                           f"(the repository's is {DEFAULT_DATASET}).") from None
    except IsADirectoryError:
        raise DatasetError(f"{path}: is a folder; give the path of a JSONL QA set.") from None
    except PermissionError:
        raise DatasetError(f"{path}: permission denied; make the dataset readable.") from None
    except UnicodeDecodeError as e:
        raise DatasetError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start}); save it as UTF-8.") from None
    items: list[EvalItem] = []
    seen: dict[str, int] = {}
    for line_no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = EvalItem.from_dict(json.loads(line))
        except json.JSONDecodeError as e:
            raise DatasetError(f"{path}, line {line_no}: invalid JSON ({e.msg}); {fix}.") from None
        except ValueError as e:
            raise DatasetError(f"{path}, line {line_no}: {e}; {fix}.") from None
        if item.id in seen:
            raise DatasetError(f"{path}, line {line_no}: duplicate id {item.id!r} (first on line {seen[item.id]}); "
                               "give each question its own id.")
        seen[item.id] = line_no
        items.append(item)
    if not items:
        raise DatasetError(f"{path}: no questions in the dataset; add one JSON object per line.")
    return items
