"""The library's own exceptions. Each message tells the user what to do.

The CLI and the web UI catch :class:`RagError` and show its message: never a
stack trace for something a user can cause or fix.
"""

from __future__ import annotations

import re


class RagError(Exception):
    """Base class: a problem the user can understand and act on."""


class ConfigError(RagError):
    """A setting has a value that cannot work."""


class IndexMissingError(RagError):
    """No index where one was expected."""


class IndexMismatchError(RagError):
    """The index on disk was built differently (embedder, format version)."""


class IndexCorruptError(RagError):
    """An index file is truncated or altered (checksum mismatch)."""


class IndexWriteError(RagError):
    """The index folder cannot be written (permissions, a file in the way)."""


class DatasetError(RagError, ValueError):
    """A QA set is missing or malformed (a ValueError too: bad input)."""


class ModelError(RagError):
    """A model file is missing, incomplete or corrupted."""


class DependencyError(RagError):
    """An optional dependency is not installed."""


class IngestError(RagError):
    """A document could not be loaded."""


class LLMError(RagError):
    """The language model failed to answer (backend down, timeout...)."""


def missing_dependency(package: str, feature: str) -> DependencyError:
    """The error to raise when a lazily imported package is absent."""
    return DependencyError(
        f"{feature} needs the Python package '{package}'. "
        f"Install the project with `pip install -e .` (or `pip install {package}`)."
    )


# Secrets that may reach a message: a bearer token echoed by a server's error
# body, a key in a query string, a password in a URL (``user:password@host``).
_SECRETS = (
    (re.compile(r"(?i)\b(bearer)\s+[\w.~+/=-]+"), r"\1 ***"),
    (re.compile(r"(?i)\b(api[_-]?key|access[_-]?token|token|password|secret)(\s*[=:]\s*)[^\s&\"',;)]+"), r"\1\2***"),
    (re.compile(r"\b(sk-)[A-Za-z0-9_-]{8,}"), r"\1***"),
    (re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://)[^/\s:@]*:[^/\s@]*@"), r"\1***@"),
)


def redact(text: str) -> str:
    """``text`` with credentials replaced by ``***``: safe to print or log.

    >>> redact("401: Invalid key: Bearer sk-abc123def456 (http://bob:hunter2@10.0.0.2/v1?api_key=xyz)")
    '401: Invalid key: Bearer *** (http://***@10.0.0.2/v1?api_key=***)'
    """
    for pattern, repl in _SECRETS:
        text = pattern.sub(repl, text)
    return text
