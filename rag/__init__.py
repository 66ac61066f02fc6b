"""Offline question answering over news articles, with verified citations.

>>> from rag import Assistant          # doctest: +SKIP
>>> a = Assistant.open("index/")       # doctest: +SKIP
>>> print(a.ask("Combien OpenAI devrait-elle perdre cette année ?").answer)  # doctest: +SKIP

Importing this package loads nothing heavy: models load on first use.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

# Nothing is ever downloaded from a model hub at run time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

__version__ = "0.1.0"

if TYPE_CHECKING:  # pragma: no cover
    from rag.assistant import Assistant
    from rag.check import check
    from rag.conversation import Conversation
    from rag.records import Answer, Citation, Excerpt, Passage
    from rag.settings import Settings

__all__ = ["Answer", "Assistant", "Citation", "Conversation", "Excerpt", "Passage", "Settings", "check"]

_LAZY = {
    "Assistant": ".assistant",
    "Conversation": ".conversation",
    "Answer": ".records",
    "Citation": ".records",
    "Excerpt": ".records",
    "Passage": ".records",
    "Settings": ".settings",
    "check": ".check",  # rag.check(records): the module is callable
}




def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module = importlib.import_module(_LAZY[name], __name__)
        return module if name == "check" else getattr(module, name)
    raise AttributeError(name)
