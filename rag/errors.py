"""The library's own exceptions. Each message tells the user what to do.

The CLI and the web UI catch :class:`RagError` and show its message: never a
stack trace for something a user can cause or fix.
"""

from __future__ import annotations


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
