"""One settings object: the single source of defaults for the API, the CLI and
``RAG_*`` environment variables.

Precedence: explicit keyword/CLI flag > environment variable > default here.
Each field's metadata carries its help text; the CLI builds its flags from it.
"""

from __future__ import annotations

import argparse
import os
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rag.errors import ConfigError, redact

ENV_PREFIX = "RAG_"
# Vector index types (rag.index.vectors builds them); "auto" picks one by corpus size.
INDEX_TYPES = ("auto", "flat", "fp16", "ivfpq", "hnsw")


def api_root(base_url: str) -> str:
    """The ``/v1`` API root of an OpenAI-compatible server, given with or without ``/v1``.

    >>> api_root("http://127.0.0.1:8080")
    'http://127.0.0.1:8080/v1'
    >>> api_root("http://127.0.0.1:8080/v1/")
    'http://127.0.0.1:8080/v1'
    """
    url = base_url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"The LLM server URL must start with http:// or https:// (got {redact(base_url)!r}), "
            "e.g. http://127.0.0.1:8080/v1."
        )
    return url if url.endswith("/v1") else url + "/v1"


def _default_cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "rag-news")


def _opt(default: Any, help: str, *, cli: bool = True, **kw: Any) -> Any:
    return field(default=default, metadata={"help": help, "cli": cli, **kw})


@dataclass(frozen=True, kw_only=True)
class Settings:
    index_dir: str = _opt("index", "Directory of the built index.")
    docs_dir: str = _opt("seeds", "Folder of articles indexed when the index is missing.")
    model: str = _opt("default", "LLM preset (default, small) or a path to a GGUF file.")
    embedder: str = _opt(
        "use-multilingual",
        "Embedding model: 'use-multilingual' (offline default) or any sentence-transformers name/path.",
    )
    query_prompt: str = _opt("", "Text prepended to questions before embedding (e.g. 'query: ' for e5).")
    passage_prompt: str = _opt("", "Text prepended to passages before embedding (e.g. 'passage: ').")
    chunk_size: int = _opt(500, "Target chunk size in characters.")
    chunk_overlap: int = _opt(100, "Overlap between consecutive chunks in characters.")
    k: int = _opt(5, "Number of passages given to the LLM.")
    n_ctx: int = _opt(4096, "LLM context window in tokens.")
    n_threads: int = _opt(0, "LLM threads (0 = number of CPU cores).")
    n_batch: int = _opt(512, "LLM prompt batch size.")
    llm_base_url: str = _opt(
        "", "OpenAI-compatible LLM server, e.g. http://127.0.0.1:8080/v1 (empty = llama.cpp in-process)."
    )
    llm_model: str = _opt("", "Model name asked of the LLM server (empty = the server's first model).")
    llm_timeout: float = _opt(120.0, "Seconds the LLM server may stay silent before the answer fails.")
    # A secret: environment only (RAG_LLM_API_KEY), never a flag nor in repr().
    llm_api_key: str = field(default="", repr=False, metadata={"help": "API key of the LLM server.", "cli": False})
    max_tokens: int = _opt(200, "Maximum tokens generated per answer.")
    temperature: float = _opt(0.0, "Sampling temperature (0 = deterministic).")
    answer_language: str = _opt("auto", "Answer language: auto (the question's), fr or en.")
    context_budget: int = _opt(
        800, "Characters of evidence sentences sent to the LLM in total (0 = whole passages)."
    )
    evidence_ratio: float = _opt(
        0.7, "Evidence sentences must score at least this share of the best one's score to reach the LLM "
        "(lower, with a larger --context-budget: more of each passage is read, at more prompt time)."
    )
    word_match: float = _opt(
        0.65, "Across languages, a question word counts as found in a passage when the embedder puts one of the "
        "passage's words at least this close (cosine; 0 = only the bilingual word list)."
    )
    retrieval_word_match: float = _opt(
        0.8, "Across languages, sentence ranking and evidence selection also match a question word to a passage "
        "word the embedder puts at least this close (cosine; 0 = the bilingual word list only)."
    )
    confirm: bool = _opt(
        False, "Also ask the LLM whether each answer sentence's passage states it (slow on a CPU; see rag/answer/confirm.py)."
    )
    strict_checks: bool = _opt(
        False, "Also reject citations whose quote names another actor, negates the claim or dates another event "
        "(off by default: on held-out questions these checks dropped right and wrong answers alike; see README)."
    )
    short_answers: bool = _opt(
        True, "Answer a question asking for one fact (who, when, how many…) with the short phrase that answers it, "
        "cited; explanations and overviews keep full sentences (--no-short-answers: sentences for every question)."
    )
    located_answers: bool = _opt(
        True, "Show a short answer the support checks reject when the passage sentence that bears most on the "
        "question states it, cited to that sentence (--no-located-answers: the checks alone decide)."
    )
    unsure_below: float = _opt(
        0.6, "A short answer the model wrote with less confidence than this (its tokens' geometric mean "
        "probability) is shown with its citations marked not verified and a notice (0 = off)."
    )
    quoted_overviews: bool = _opt(
        True, "Answer an overview question ('Que disent les articles sur X ?') with the articles' own most relevant "
        "and mutually different sentences, cited: quoted in the articles' language, translated by the model (and "
        "checked) in the other (--no-quoted-overviews: the model writes a summary)."
    )
    news: bool = _opt(
        True, "Read the articles as news: rank by the time a question names, date each passage in the prompt, "
        "resolve 'this year' from the article's date and set revised figures side by side "
        "(--no-news for timeless documents; dates and outlets stay on citations)."
    )
    channels: str = _opt("hybrid", "Retrieval channels: hybrid (dense + BM25), dense or lexical.")
    index_type: str = _opt(
        "auto", "Vector index: auto (by corpus size), flat, fp16 (exact), ivfpq or hnsw (approximate)."
    )
    reranker: str = _opt("", "Optional sentence-transformers CrossEncoder name/path for reranking.")
    cache_dir: str = _opt("", "Where assembled model files are cached (default: ~/.cache/rag-news).")
    max_file_mb: float = _opt(20.0, "Files larger than this (MB) are skipped when indexing.")
    host: str = _opt("127.0.0.1", "Web chat bind address.")
    port: int = _opt(7860, "Web chat port.")
    share: bool = _opt(False, "Create a public Gradio share link (off by default).")
    max_question_chars: int = _opt(2000, "Longer questions are truncated with a notice.")
    since: str = _opt("", "Only passages of articles dated on or after this date (YYYY, YYYY-MM or YYYY-MM-DD).")
    until: str = _opt("", "Only passages of articles dated on or before this date (YYYY, YYYY-MM or YYYY-MM-DD).")

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ConfigError(f"k must be at least 1 (got {self.k}).")
        if self.chunk_size < 50:
            raise ConfigError(f"chunk_size must be at least 50 characters (got {self.chunk_size}).")
        if not 0 <= self.chunk_overlap < self.chunk_size:
            raise ConfigError("chunk_overlap must be between 0 and chunk_size.")
        if self.channels not in ("hybrid", "dense", "lexical"):
            raise ConfigError(f"channels must be hybrid, dense or lexical (got {self.channels!r}).")
        if self.index_type not in INDEX_TYPES:
            raise ConfigError(f"index_type must be one of {', '.join(INDEX_TYPES)} (got {self.index_type!r}).")
        if self.answer_language not in ("auto", "fr", "en"):
            raise ConfigError(f"answer_language must be auto, fr or en (got {self.answer_language!r}).")
        if self.llm_base_url:
            api_root(self.llm_base_url)  # raises ConfigError unless http(s)://host...
        for name in ("since", "until"):
            value = getattr(self, name)
            if value and not re.fullmatch(r"\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?", value.strip()):
                raise ConfigError(f"{name} must be a date written YYYY, YYYY-MM or YYYY-MM-DD (got {value!r}).")
        for name in ("evidence_ratio", "word_match", "retrieval_word_match", "unsure_below"):  # shares and cosines
            if not 0 <= getattr(self, name) <= 1:
                raise ConfigError(f"{name} must be between 0 and 1 (got {getattr(self, name)}).")
        if self.llm_timeout <= 0:
            raise ConfigError(f"llm_timeout must be positive (got {self.llm_timeout}).")

    @property
    def index_path(self) -> Path:
        return Path(self.index_dir)

    @property
    def model_cache(self) -> str:
        return self.cache_dir or _default_cache_dir()

    @property
    def threads(self) -> int:
        return self.n_threads or os.cpu_count() or 1

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then ``RAG_<FIELD>`` variables, then ``overrides`` (None ignored)."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(ENV_PREFIX + f.name.upper())
            if raw is not None and raw != "":
                values[f.name] = _parse(f.name, f.type, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def _parse(name: str, type_: Any, raw: str) -> Any:
    t = type_ if isinstance(type_, str) else getattr(type_, "__name__", str(type_))
    try:
        if t == "bool":
            return raw.strip().lower() in ("1", "true", "yes", "on")
        if t == "int":
            return int(raw)
        if t == "float":
            return float(raw)
    except ValueError as exc:
        raise ConfigError(f"{ENV_PREFIX}{name.upper()}={raw!r} is not a valid {t}.") from exc
    return raw


def add_settings_args(parser: argparse.ArgumentParser, names: list[str] | None = None) -> None:
    """Add ``--flag`` options for settings fields (all CLI fields when ``names`` is None)."""
    for f in fields(Settings):
        if not f.metadata.get("cli") or (names is not None and f.name not in names):
            continue
        flag = "--" + f.name.replace("_", "-")
        env = ENV_PREFIX + f.name.upper()
        t = f.type if isinstance(f.type, str) else f.type.__name__
        help_ = f"{f.metadata['help']} [env {env}, default {f.default!r}]"
        if t == "bool":
            # --flag / --no-flag: a setting that defaults to on can be turned off.
            parser.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=None, help=help_)
        else:
            conv = {"int": int, "float": float}.get(t, str)
            parser.add_argument(flag, dest=f.name, type=conv, default=None, help=help_)


def settings_from_args(args: argparse.Namespace) -> Settings:
    overrides = {f.name: getattr(args, f.name, None) for f in fields(Settings)}
    return Settings.from_env(**overrides)
