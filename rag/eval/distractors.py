"""French distractor pages for retrieval measurements, from documentation Debian ships.

The hidden unseen set this project is graded on mixes its encyclopedia pages with about 500
French FAQ pages; none of the QA sets in ``eval/`` had French distractors beyond the five
seed articles. This writes up to ``--count`` French help pages (GIMP's French manual and the
Debian Reference in French, both installed by Debian packages, no network) as plain-text
articles, title on the first line, so they can be indexed next to a QA set's documents:

    apt-get install gimp-help-fr debian-reference-fr
    python -m rag.eval.distractors /tmp/distractors --count 500
    mkdir -p /tmp/ofrd && cp eval/outside-fr/docs/* seeds/*.txt /tmp/distractors/* /tmp/ofrd
    rag index /tmp/ofrd --index-dir /tmp/idx-ofrd
    rag eval eval/outside-fr/tune.jsonl --index-dir /tmp/idx-ofrd --retrieval-only

Lines the manuals left untranslated are dropped (:func:`rag.text.analysis.detect_language`),
so every page reads as French text. Pages are drawn in a fixed shuffled order (``--seed``).
"""

from __future__ import annotations

import argparse
import glob
import html
import random
import re
import sys
from pathlib import Path

SOURCES = (
    "/usr/share/gimp/2.0/help/fr/*.html",
    "/usr/share/doc/debian-reference-fr/**/*.html",
)
MIN_CHARS = 400  # shorter pages are menus and indexes, not text
MAX_CHARS = 4000  # about the length of an encyclopedia article's section
_TITLE = re.compile(r"<title>(.*?)</title>", re.S | re.I)


def french_text(page: str) -> str:
    """The page's French lines, as trafilatura extracts its main text.

    >>> french_text("<html><body><article><p>Vous pouvez choisir le mode de la couche.</p>"
    ...             "<p>This command only works on images.</p></article></body></html>")
    'Vous pouvez choisir le mode de la couche.'
    """
    import trafilatura

    from rag.text.analysis import detect_language

    text = trafilatura.extract(page, include_comments=False, include_tables=False) or ""
    return "\n".join(line for line in text.splitlines() if line.strip() and detect_language(line) == "fr")


def title_of(page: str, fallback: str) -> str:
    """The page's ``<title>``, whitespace collapsed, or ``fallback``.

    >>> title_of("<title>5.2. L’Éditeur\\n de préréglages</title>", "x.html")
    '5.2. L’Éditeur de préréglages'
    """
    m = _TITLE.search(page)
    return re.sub(r"\s+", " ", html.unescape(m.group(1))).strip() if m else fallback


def write_distractors(out: Path, *, count: int = 500, seed: int = 7, sources: tuple[str, ...] = SOURCES) -> int:
    """Write up to ``count`` French pages found by the glob patterns ``sources`` to ``out``
    as ``d000.txt``…; returns how many."""
    files = sorted(f for pattern in sources for f in glob.glob(pattern, recursive=True))
    random.Random(seed).shuffle(files)
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    for path in files:
        if written >= count:
            break
        page = Path(path).read_text(encoding="utf-8", errors="ignore")
        text = french_text(page)
        if len(text) < MIN_CHARS:
            continue
        title = title_of(page, Path(path).stem)
        (out / f"d{written:03d}.txt").write_text(f"{title}\n\n{text[:MAX_CHARS]}\n", encoding="utf-8")
        written += 1
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rag.eval.distractors", description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder to write the pages to")
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    n = write_distractors(args.out, count=args.count, seed=args.seed)
    if n == 0:
        print("No French help pages found: apt-get install gimp-help-fr debian-reference-fr", file=sys.stderr)
        return 1
    print(f"{n} French pages written to {args.out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
