"""Near-duplicate articles: one dispatch reprinted by several outlets, or an updated version.

MinHash signatures of word 5-gram shingles estimate the Jaccard similarity of
two articles; MinHash LSH finds the candidate pairs without comparing every
pair, and each candidate is kept only if its estimate reaches the threshold.
Seeds are fixed so the same folder always gives the same groups.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from ._text import words

SHINGLE = 5
NUM_PERM = 128
SEED = 1
# Measured on tests/data/news + seeds/ (9 articles, 36 pairs) with NUM_PERM=128,
# SEED=1; test_news.py::test_copy_threshold_measurement recomputes it:
#   reprint of the March dispatch (new headline, added boilerplate paragraph,
#     three words changed) vs the original ................. 0.68 (exact 0.68)
#   the same dispatch cut after half its paragraphs ......... 0.36
#   highest pair of different articles (same company; or two
#     seeds on OpenAI's losses) ............................. 0.008 (exact 0.002)
# 5-gram shingles punish every edit five times, so even a faithful reprint is
# far below 0.8; 0.3 keeps a half-length reprint and stays 0.29 above the
# closest pair of different articles (MinHash error at 128 permutations is
# about 0.04 near 0.3).
COPY_THRESHOLD = 0.3


@dataclass(frozen=True)
class Copy:
    """One copy and its estimated Jaccard similarity to the group's canonical article."""

    doc_id: str
    jaccard: float

    def to_dict(self) -> dict[str, object]:
        return {"doc_id": self.doc_id, "jaccard": round(self.jaccard, 3)}


@dataclass(frozen=True)
class CopyGroup:
    """Articles telling one story: the canonical one (earliest) and its copies."""

    canonical: str
    copies: tuple[Copy, ...] = field(default_factory=tuple)

    @property
    def doc_ids(self) -> tuple[str, ...]:
        return (self.canonical, *(c.doc_id for c in self.copies))

    def to_dict(self) -> dict[str, object]:
        return {"canonical": self.canonical, "copies": [c.to_dict() for c in self.copies]}

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> CopyGroup:
        """Inverse of :meth:`to_dict` (the index manifest stores groups this way).

        >>> g = CopyGroup("a.txt", (Copy("b.txt", 0.68),))
        >>> CopyGroup.from_dict(g.to_dict()) == g
        True
        """
        copies = d.get("copies") or []
        return cls(str(d["canonical"]), tuple(Copy(str(c["doc_id"]), float(c["jaccard"])) for c in copies))  # type: ignore[index,union-attr]


def shingles(text: str, n: int = SHINGLE) -> set[str]:
    """Word n-grams of the folded text; a text shorter than n words is one shingle.

    >>> sorted(shingles("L’IA coûte cher, très cher", n=3))
    ['cher tres cher', 'coute cher tres', 'ia coute cher', 'l ia coute']
    >>> shingles("", n=3)
    set()
    """
    w = words(text)
    if not w:
        return set()
    if len(w) < n:
        return {" ".join(w)}
    return {" ".join(w[i : i + n]) for i in range(len(w) - n + 1)}


def _minhash(text: str, num_perm: int):  # -> datasketch.MinHash
    try:
        from datasketch import MinHash
    except ImportError as exc:  # pragma: no cover - declared dependency
        raise ImportError("Finding copies of articles needs datasketch: pip install datasketch") from exc
    m = MinHash(num_perm=num_perm, seed=SEED)
    m.update_batch([s.encode("utf-8") for s in sorted(shingles(text))])
    return m


def similarity(a: str, b: str, *, num_perm: int = NUM_PERM) -> float:
    """MinHash estimate of the Jaccard similarity of two texts' 5-gram shingles.

    >>> similarity("Nébula Robotique prévoit une perte de 40 millions d'euros cette année.",
    ...            "Nébula Robotique prévoit une perte de 40 millions d'euros cette année.")
    1.0
    >>> similarity("", "Un texte")
    0.0
    """
    if not shingles(a) or not shingles(b):
        return 0.0
    return float(_minhash(a, num_perm).jaccard(_minhash(b, num_perm)))


def same_story(a: str, b: str, *, threshold: float = COPY_THRESHOLD) -> bool:
    """Whether two texts are copies of one article (estimated Jaccard at least ``threshold``).

    >>> dispatch = "Le fabricant grenoblois de robots Nébula Robotique prévoit une perte de 40 millions d'euros cette année, a-t-il annoncé jeudi."
    >>> same_story(dispatch, dispatch + " Cet article a été publié avec l'AFP.")
    True
    >>> same_story(dispatch, "Nébula Robotique relève sa prévision de perte à 65 millions d'euros pour cette année.")
    False
    """
    return similarity(a, b) >= threshold


def find_copies(
    docs: Mapping[str, str],
    *,
    threshold: float = COPY_THRESHOLD,
    dates: Mapping[str, dt.date | None] | None = None,
    num_perm: int = NUM_PERM,
) -> list[CopyGroup]:
    """Groups of near-duplicate documents (only groups with at least one copy).

    The canonical document is the earliest dated one (undated ones after), or
    the first in ``docs`` order; copies keep ``docs`` order. Empty texts are
    never copies.

    >>> a = "La start-up Nébula Robotique a annoncé jeudi une perte de 40 millions d'euros pour cette année."
    >>> groups = find_copies({"afp.txt": a, "autre.txt": "Un tout autre sujet, sans rapport.", "reprise.txt": a + " Lire aussi."})
    >>> [(g.canonical, [c.doc_id for c in g.copies]) for g in groups]
    [('afp.txt', ['reprise.txt'])]
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    from datasketch import MinHashLSH

    order = {doc_id: i for i, doc_id in enumerate(docs)}
    hashes = {doc_id: _minhash(text, num_perm) for doc_id, text in docs.items() if shingles(text)}
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    for doc_id, m in hashes.items():
        lsh.insert(doc_id, m)
    parent = {doc_id: doc_id for doc_id in hashes}

    def root(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for doc_id, m in hashes.items():
        # LSH gives candidates; the estimate decides, so a candidate just below
        # the threshold is not grouped.
        for other in lsh.query(m):
            if other != doc_id and m.jaccard(hashes[other]) >= threshold:
                parent[root(other)] = root(doc_id)
    members: dict[str, list[str]] = {}
    for doc_id in hashes:
        members.setdefault(root(doc_id), []).append(doc_id)

    def age(doc_id: str) -> tuple[int, dt.date, int]:
        day = (dates or {}).get(doc_id)
        return (0, day, order[doc_id]) if day is not None else (1, dt.date.max, order[doc_id])

    groups = []
    for ids in members.values():
        if len(ids) < 2:
            continue
        canonical = min(ids, key=age)
        copies = tuple(
            Copy(d, float(hashes[canonical].jaccard(hashes[d])))
            for d in sorted(ids, key=order.__getitem__)
            if d != canonical
        )
        groups.append(CopyGroup(canonical, copies))
    return sorted(groups, key=lambda g: order[g.canonical])
