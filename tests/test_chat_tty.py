"""`rag chat` in a pseudo-terminal: each answer is shown once (the streamed draft is
erased and replaced by the verified answer), with its sources under it."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time

from tests.conftest import ROOT

DRIVER = "import tests.fakes, sys; tests.fakes.install(); from rag.cli import main; sys.exit(main(sys.argv[1:]))"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _read_until(fd: int, needle: str, buf: list[str], timeout: float = 60) -> str:
    end = time.monotonic() + timeout
    while needle not in "".join(buf):
        if time.monotonic() > end:
            raise AssertionError(f"{needle!r} not seen; output so far: {''.join(buf)!r}")
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                buf.append(os.read(fd, 4096).decode("utf-8", "replace"))
            except OSError:
                break
    return "".join(buf)


def render(raw: str, width: int = 100) -> list[str]:
    """What a ``width``-column terminal shows for ``raw``: a tiny emulator for \\r, \\n, line wrap,
    cursor-up and erase-below."""
    lines, row, col = [""], 0, 0
    i = 0
    while i < len(raw):
        m = ANSI.match(raw, i)
        if m:
            code = m.group(0)
            if code.endswith("A"):
                row = max(0, row - int(code[2:-1] or 1))
            elif code.endswith("J"):
                lines[row] = lines[row][:col]
                del lines[row + 1:]
            elif code.endswith("K"):
                lines[row] = lines[row][:col]
            i = m.end()
            continue
        ch = raw[i]
        if ch == "\r":
            col = 0
        elif ch == "\n":
            row += 1
            col = 0
            if row == len(lines):
                lines.append("")
        else:
            if col == width:  # wrap
                row, col = row + 1, 0
                if row == len(lines):
                    lines.append("")
            line = lines[row].ljust(col)
            lines[row] = line[:col] + ch + line[col + 1:]
            col += 1
        i += 1
    return lines


def test_chat_shows_each_answer_once_in_a_terminal(tmp_path, seeds_copy):
    docs = seeds_copy
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(PYTHONPATH=str(ROOT), COLUMNS="100", LINES="50", TERM="xterm")
    index = ["--index-dir", str(tmp_path / "index"), "--docs-dir", str(docs)]
    subprocess.run([sys.executable, "-c", DRIVER, "index", str(docs), "--quiet", *index[:2]], env=env,
                   check=True, capture_output=True, cwd=tmp_path)

    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, "chat", *index], stdin=slave, stdout=slave,
                            stderr=slave, env=env, cwd=tmp_path, close_fds=True)
    os.close(slave)
    buf: list[str] = []
    try:
        _read_until(master, "\n> ", buf)
        os.write(master, "Combien OpenAI devrait-elle perdre cette année ?\n".encode())
        raw = _read_until(master, "passages)\r\n\r\n> ", buf)
        os.write(master, b"\n")
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)

    assert "\x1b[J" in raw  # the draft was streamed, then erased
    screen = "\n".join(render(raw))
    answer = next(line for line in screen.splitlines() if line.endswith("[1]."))
    assert screen.count(answer) == 1, screen
    opening = screen.split("cette année ?\n", 1)[1].splitlines()[0]  # the answer's first line
    assert screen.count(opening) == 1, screen  # no draft left above the verified answer  # shown once, not draft + verified
    assert screen.index(answer) < screen.index("  [1] ")  # the sources come under the answer
    assert "« " in screen.split(answer, 1)[1]


def test_chat_prints_only_the_verified_answer_when_not_a_terminal(tmp_path, seeds_copy):
    docs = seeds_copy
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", DRIVER, "chat", "--index-dir", str(tmp_path / "index"),
                          "--docs-dir", str(docs)], input="Combien OpenAI devrait-elle perdre cette année ?\n",
                         env=env, capture_output=True, text=True, cwd=tmp_path, timeout=120).stdout
    assert "\x1b[" not in out
    answers = [line for line in out.splitlines() if line.endswith("[1].")]
    assert len(answers) == 1, out
