"""The LLM engine: a conversation in, a validated Recap out, through any langchain chat model.

How it works, and why:
- The model answers in a private schema (`ModelRecap`, schema.py) made for it: items cite
  the number of the message they come from ("[12]"), owners and due dates are given as
  written; mapping.py turns that into the public `Recap` in code we trust.
- The conversation is data, shown inside a delimited block (prompts.py).
- Long conversations are map-reduced within `LLMConfig.chunk_tokens` (budget.py): chunks
  split on message boundaries (numbering stays global so citations stay valid), one partial
  recap per chunk (a few in parallel), then partial recaps merged, in a tree when they do
  not fit one request.
- Every failure becomes `LLMError` with a short reason a user can read (calls.py), so the
  pipeline can fall back to the offline engine and say why.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from summarizer.config import LLMConfig
from summarizer.errors import LLMError
from summarizer.llm.budget import NumberedLine, group_within_budget, split_into_chunks
from summarizer.llm.calls import ModelCaller, TokenUsage, build_chat_model
from summarizer.llm.mapping import to_recap
from summarizer.llm.prompts import (
    MAP_SYSTEM_PROMPT,
    REDUCE_SYSTEM_PROMPT,
    SHORTENED,
    PartialRecap,
    language_rule,
    map_prompt,
    part_intro,
    partial_cost,
    reduce_prompt,
    render_message,
)
from summarizer.llm.schema import ModelRecap
from summarizer.types import Conversation, Recap

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

log = logging.getLogger(__name__)

_Task = Callable[[], ModelRecap]


class LLMEngine:
    """Recaps conversations with a langchain chat model; see the module docstring."""

    def __init__(self, config: LLMConfig, *, chat_model: BaseChatModel | None = None) -> None:
        self._config = config
        self._setup_error: str | None = None
        self._model: BaseChatModel | None = chat_model
        if chat_model is None:
            try:
                self._model = build_chat_model(config)
            except Exception as exc:  # unknown provider, missing package or key, bad URL
                # Raised on recap() instead, so the pipeline falls back with a visible note.
                log.error("Cannot set up the language model %r: %s", config.model, exc)
                self._setup_error = f"the model {config.model!r} could not be set up: {exc}"
        self._caller = ModelCaller(self._model, config) if self._model is not None else None

    @property
    def setup_error(self) -> str | None:
        """Why the model could not be set up (every recap then falls back), else None."""
        return self._setup_error

    @property
    def name(self) -> str:
        """The model string from the settings (or the given model's own name)."""
        if self._config.model:
            return self._config.model
        model = self._model
        return str(
            getattr(model, "model_name", None)
            or getattr(model, "model", None)
            or type(model).__name__
        )

    def recap(self, conversation: Conversation) -> Recap:
        """Recap `conversation`; raises LLMError (with a user-readable reason) on any failure."""
        caller = self._caller
        if self._setup_error or caller is None:
            raise LLMError(self._setup_error or "no language model is configured")
        numbered = [(n, m) for n, m in enumerate(conversation.messages, start=1) if m.text.strip()]
        if not numbered:
            raise LLMError("there is nothing to summarise")
        try:
            caller.prepare()  # once, before the calls run in threads
        except Exception as exc:
            raise LLMError(f"the model {self.name!r} cannot give structured output") from exc
        budget = max(1, self._config.chunk_tokens)
        usage = TokenUsage()
        notes: list[str] = []

        names_by_id = {v: k for k, v in conversation.participant_ids.items()}
        lines = [
            (n, render_message(n, m, max_tokens=budget, names_by_id=names_by_id))
            for n, m in numbered
        ]
        if any(line.endswith(SHORTENED) for _, line in lines):
            notes.append("A very long message was shortened before it was summarised.")
        chunks = split_into_chunks(lines, budget)
        rule = language_rule(self._config.recap_language, conversation)

        if len(chunks) == 1:
            prompt = map_prompt(conversation, [text for _, text in chunks[0]])
            (draft,) = caller.run_all([self._request(MAP_SYSTEM_PROMPT + rule, prompt, usage)])
        else:
            total = len(chunks)
            map_tasks = [
                self._map_task(conversation, chunk, index, total, usage, rule)
                for index, chunk in enumerate(chunks, start=1)
            ]
            partials = [
                PartialRecap(recap, chunk[0][0], chunk[-1][0])
                for recap, chunk in zip(caller.run_all(map_tasks), chunks, strict=True)
            ]
            draft = self._reduce(caller, conversation, partials, budget, usage, rule)
            notes.append(
                f"The conversation was too long for one request: it was summarised in "
                f"{total} parts, then merged."
            )
        log.info(
            "LLM recap by %s: %d messages, %d calls, %d input / %d output tokens",
            self.name,
            len(numbered),
            usage.calls,
            usage.input_tokens,
            usage.output_tokens,
        )
        return to_recap(
            draft,
            conversation,
            engine=self.name,
            notes=notes,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
        )

    def _request(self, system: str, prompt: str, usage: TokenUsage) -> _Task:
        caller = self._caller
        assert caller is not None
        return lambda: caller.ask(system, prompt, usage)

    def _map_task(
        self,
        conversation: Conversation,
        chunk: list[NumberedLine],
        index: int,
        total: int,
        usage: TokenUsage,
        rule: str,
    ) -> _Task:
        part = part_intro(chunk[0][0], chunk[-1][0], index, total)
        prompt = map_prompt(conversation, [text for _, text in chunk], part)
        return self._request(MAP_SYSTEM_PROMPT + rule, prompt, usage)

    def _reduce(
        self,
        caller: ModelCaller,
        conversation: Conversation,
        partials: list[PartialRecap],
        budget: int,
        usage: TokenUsage,
        rule: str,
    ) -> ModelRecap:
        """Merge partial recaps; in a tree of groups when they do not fit one request."""
        while True:
            groups = group_within_budget(partials, budget, partial_cost)
            if len(groups) == 1:
                prompt = reduce_prompt(conversation, groups[0])
                system = REDUCE_SYSTEM_PROMPT + rule
                (final,) = caller.run_all([self._request(system, prompt, usage)])
                return final
            tasks: list[_Task] = [
                _already(group[0].recap)
                if len(group) == 1
                else self._request(
                    REDUCE_SYSTEM_PROMPT + rule, reduce_prompt(conversation, group), usage
                )
                for group in groups
            ]
            merged = caller.run_all(tasks)
            partials = [
                PartialRecap(recap, group[0].first, group[-1].last)
                for recap, group in zip(merged, groups, strict=True)
            ]


def _already(recap: ModelRecap) -> _Task:
    """A task for a lone partial: it moves up the merge tree unchanged."""
    return lambda: recap
