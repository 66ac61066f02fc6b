"""LLM backends behind one small interface.

``LlamaCppLLM`` runs a GGUF model in-process through llama-cpp-python with the
model's own chat template. One llama.cpp context is not thread-safe, so calls
are serialised by a lock; callers queue.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from rag.errors import LLMError, ModelError, missing_dependency

# One repetition penalty for both backends (this one and, sent to llama.cpp servers,
# rag.answer.llm_http), so they give the same answers; llama_cpp.server's default is 1.1.
REPEAT_PENALTY = 1.05

log = logging.getLogger(__name__)

Messages = list[dict[str, str]]

# The first token of a yes/no reply, in the spellings a chat model starts with (English
# and French, with and without the leading space and capital). Compared folded.
YES_FORMS = ("yes", "Yes", "YES", " yes", " Yes", "oui", "Oui", " oui", " Oui")
NO_FORMS = ("no", "No", "NO", " no", " No", "non", "Non", " non", " Non")


def yes_or_no(token: str) -> bool | None:
    """True for a yes token, False for a no token, None otherwise.

    >>> yes_or_no(" Yes"), yes_or_no("non"), yes_or_no("Maybe")
    (True, False, None)
    """
    t = token.strip().lower()
    return True if t in ("yes", "oui") else False if t in ("no", "non") else None


def yes_share(scores: Iterable[tuple[bool, float]]) -> float | None:
    """P(yes) from ``(is_yes, logit or log-probability)`` pairs: a softmax over the yes
    and no forms only, so the mass the model gives other tokens does not count. None
    without any pair.

    >>> round(yes_share([(True, 2.0), (False, 0.0)]), 4), yes_share([(True, -1.0), (True, -1.0)])
    (0.8808, 1.0)
    """
    pairs = list(scores)
    if not pairs:
        return None
    values = np.array([v for _, v in pairs], dtype=np.float64)
    weights = np.exp(values - values.max())
    yes = sum(w for (is_yes, _), w in zip(pairs, weights, strict=True) if is_yes)
    return float(yes / weights.sum())


class TopTokenRecorder:
    """A llama-cpp-python logits processor that records, at each generation step, the
    most likely next token and its probability, and leaves the logits unchanged.

    The answer is decoded greedily (temperature 0, top_k 1), so the recorded token is the
    one generated (up to the small repetition penalty applied after this processor) and its
    probability is the model's own confidence in it. It costs one softmax over the
    vocabulary per generated token (~1 ms for Qwen2.5's 151,936 entries), far less than the
    decode step; llama-cpp-python's ``logprobs`` would need ``logits_all`` (see
    :meth:`LlamaCppLLM.yes_probability`).
    """

    def __init__(self) -> None:
        self.steps: list[tuple[int, float]] = []

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        logits = np.asarray(scores, dtype=np.float64)
        top = int(logits.argmax())
        self.steps.append((top, float(1.0 / np.exp(logits - logits[top]).sum())))
        return scores


def _shared_prefix(cached: Sequence[int], tokens: Sequence[int]) -> int:
    n = min(len(cached), len(tokens))
    differ = np.flatnonzero(np.asarray(cached[:n]) != np.asarray(tokens[:n]))
    return int(differ[0]) if differ.size else n


class LLM(Protocol):
    """What the assistant needs from a language model."""

    name: str

    def stream_chat(self, messages: Messages, *, max_tokens: int = 256, temperature: float = 0.0,
                    stop: list[str] | None = None, grammar: str | None = None) -> Iterator[str]:
        """Yield the answer's text pieces as they are generated."""
        ...

    def count_tokens(self, messages: Messages) -> int:
        """Prompt tokens for ``messages`` once formatted with the chat template."""
        ...

    def yes_probability(self, messages: Messages) -> float:
        """P(yes) of the reply's first token against P(no), in [0, 1] (see :func:`yes_share`)."""
        ...


def token_probabilities(llm: object) -> list[tuple[str, float]] | None:
    """The (token text, probability) pairs of ``llm``'s last streamed answer, when its
    backend records them (:class:`LlamaCppLLM` does); None otherwise."""
    steps = getattr(llm, "last_token_probs", None)
    return list(steps) if steps is not None else None


class LlamaCppLLM:
    """In-process llama.cpp, loaded lazily on first use and then kept warm."""

    def __init__(self, model_path: str | Path, *, n_ctx: int = 4096, n_threads: int = 2,
                 n_batch: int = 512, flash_attn: bool = True, use_mmap: bool = False, seed: int = 0) -> None:
        # Measured on 2 cores with the default 1.5B Q4_K_M: flash attention makes prompt
        # processing ~12% faster (68 -> 76 tokens/s); without mmap, llama.cpp's repacked
        # CPU weights are not kept twice (resident 1.3 GB instead of 1.9 GB), same speed.
        self.model_path = Path(model_path)
        self.name = self.model_path.name
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.n_batch = n_batch
        self.flash_attn = flash_attn
        self.use_mmap = use_mmap
        self.seed = seed
        self._llama: Any = None
        self._formatter: Any = None
        self._yes_no_ids: list[tuple[bool, int]] | None = None
        # (token text, probability) of each token of the last streamed answer.
        self.last_token_probs: list[tuple[str, float]] | None = None
        self.lock = threading.RLock()

    @property
    def llama(self) -> Any:
        if self._llama is None:
            with self.lock:
                if self._llama is None:
                    self._llama = self._load()
        return self._llama

    def _load(self) -> Any:
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise missing_dependency("llama-cpp-python", "Answer generation") from exc
        log.info("loading %s (n_ctx=%d, threads=%d)", self.model_path, self.n_ctx, self.n_threads)
        try:
            return Llama(
                model_path=str(self.model_path),
                n_ctx=self.n_ctx,
                n_threads=self.n_threads,
                n_threads_batch=self.n_threads,
                n_batch=self.n_batch,
                flash_attn=self.flash_attn,
                use_mmap=self.use_mmap,
                seed=self.seed,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelError(f"llama.cpp could not load {self.model_path}: {exc}") from exc

    def _format(self, messages: Messages) -> str:
        if self._formatter is None:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            llama = self.llama
            template = llama.metadata.get("tokenizer.chat_template")
            if not template:
                return "\n".join(m["content"] for m in messages)
            eos = llama._model.token_get_text(llama.token_eos())
            bos = llama._model.token_get_text(llama.token_bos()) if llama.token_bos() >= 0 else ""
            self._formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)
        return self._formatter(messages=messages).prompt

    def count_tokens(self, messages: Messages) -> int:
        prompt = self._format(messages)
        return len(self.llama.tokenize(prompt.encode("utf-8"), add_bos=False, special=True))

    def stream_chat(self, messages: Messages, *, max_tokens: int = 256, temperature: float = 0.0,
                    stop: list[str] | None = None, grammar: str | None = None) -> Iterator[str]:
        with self.lock:
            llama = self.llama
            kwargs: dict[str, Any] = {}
            if grammar:
                from llama_cpp import LlamaGrammar

                kwargs["grammar"] = LlamaGrammar.from_string(grammar, verbose=False)
            from llama_cpp import LogitsProcessorList

            recorder = TopTokenRecorder()
            self.last_token_probs = None
            try:
                stream = llama.create_chat_completion(
                    messages=messages, max_tokens=max_tokens, temperature=temperature,
                    top_k=1 if temperature == 0 else 40, repeat_penalty=REPEAT_PENALTY,
                    stop=stop or [], stream=True, logits_processor=LogitsProcessorList([recorder]), **kwargs,
                )
                for chunk in stream:
                    piece = chunk["choices"][0].get("delta", {}).get("content")
                    if piece:
                        yield piece
            except ValueError as exc:  # e.g. prompt longer than the context window
                raise LLMError(f"The model could not answer: {exc}") from exc
            finally:
                self.last_token_probs = [(llama.detokenize([i]).decode("utf-8", errors="replace"), p)
                                         for i, p in recorder.steps]

    def yes_probability(self, messages: Messages) -> float:
        """P(yes) for the reply to ``messages``, from the logits of its first token.

        The logits are read from the llama.cpp context directly: llama-cpp-python
        only returns logprobs when the model is loaded with ``logits_all``, which
        keeps n_ctx x vocab floats (4096 x 151936, 2.5 GB for Qwen2.5) and slows
        every answer. Instead the prompt is decoded with ``Llama.eval`` after the
        prefix it shares with the KV cache (``input_ids[:n_tokens]``, as
        ``Llama.generate`` does), and the last row of logits, the only one llama.cpp
        keeps without ``logits_all``, is read. ``input_ids``/``n_tokens`` stay
        consistent, so the next answer reuses what it shares with this prompt.

        Cost with the default 1.5B Q4_K_M on this machine's 2 cores while 4 other
        workers shared them (load 6-11): 3.4 s for a 85-90-token judge prompt at
        best, 8-12 s typical, 16 s at worst; ~120 tokens cost proportionally more
        (prompt processing dominates, one decode, no generation). Unloaded, expect
        about a fifth of that (prompt processing runs ~70 tokens/s on 2 cores).
        """
        with self.lock:
            llama = self.llama
            tokens = llama.tokenize(self._format(messages).encode("utf-8"), add_bos=False, special=True)
            if not tokens:
                raise LLMError("The yes/no prompt is empty.")
            if len(tokens) >= llama.n_ctx():
                raise LLMError(f"The yes/no prompt has {len(tokens)} tokens, more than the context "
                               f"window ({llama.n_ctx()}); shorten the evidence.")
            # Keep the shared prefix, but always decode at least the last token: its logits are the answer.
            keep = min(_shared_prefix(llama.input_ids[: llama.n_tokens], tokens), len(tokens) - 1)
            llama.n_tokens = keep
            try:
                llama.eval(tokens[keep:])
            except RuntimeError as exc:  # llama_decode failed
                llama.n_tokens = 0
                raise LLMError(f"The model could not score the yes/no prompt: {exc}") from exc
            logits = np.ctypeslib.as_array(llama._ctx.get_logits(), shape=(llama.n_vocab(),))
            share = yes_share((is_yes, float(logits[i])) for is_yes, i in self._answer_ids())
        if share is None:
            raise LLMError(f"{self.name} has no single-token yes/no in its vocabulary.")
        return share

    def _answer_ids(self) -> list[tuple[bool, int]]:
        """Token ids of the yes/no forms that are one token in this model's vocabulary."""
        if self._yes_no_ids is None:
            ids: dict[int, bool] = {}
            for is_yes, forms in ((True, YES_FORMS), (False, NO_FORMS)):
                for form in forms:
                    toks = self.llama.tokenize(form.encode("utf-8"), add_bos=False, special=False)
                    if len(toks) == 1:
                        ids.setdefault(toks[0], is_yes)
            self._yes_no_ids = [(is_yes, i) for i, is_yes in ids.items()]
        return self._yes_no_ids
