"""Calls to the chat model: structured output, parsing the answer, and running calls in
parallel under a wall-clock guard.

Every failure becomes `LLMError` with a short reason a user can read (no stack, no
secrets), so the pipeline can fall back to the offline engine and say why.
"""

from __future__ import annotations

import inspect
import json
import logging
import math
import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from summarizer.config import LLMConfig
from summarizer.errors import LLMError
from summarizer.limits import DRAFT_CHARS, DRAFT_ITEMS
from summarizer.llm.prompts import PLAIN_JSON_SUFFIX
from summarizer.llm.schema import RECAP_JSON_SCHEMA, ModelRecap

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import BaseMessage
    from langchain_core.runnables import Runnable

log = logging.getLogger(__name__)

# Map calls (and reduce calls of one tree level) run concurrently, this many at a time.
MAX_CONCURRENCY = 4
# On top of the per-request timeout, a wall-clock guard catches a client that ignores its
# timeout: every attempt may take timeout_seconds, and each retry may wait this long first
# (the OpenAI client's backoff tops out at 8 s).
RETRY_ALLOWANCE_SECONDS = 10.0

_T = TypeVar("_T")


@dataclass
class TokenUsage:
    """Calls and tokens of one recap, added up from the threads that make its calls."""

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, raw: Any) -> None:
        usage = getattr(raw, "usage_metadata", None) or {}
        with self.lock:
            self.calls += 1
            self.input_tokens += int(usage.get("input_tokens") or 0)
            self.output_tokens += int(usage.get("output_tokens") or 0)


def build_chat_model(config: LLMConfig) -> BaseChatModel:
    """The configured langchain chat model; raises on an unknown provider, key or URL."""
    if not config.model:
        raise ValueError("no model is configured")
    from langchain.chat_models import init_chat_model

    kwargs: dict[str, Any] = {
        "timeout": config.timeout_seconds,
        "max_retries": config.max_retries,
        "temperature": config.temperature,
    }
    if config.base_url:
        kwargs["base_url"] = config.base_url
    if config.api_key:
        kwargs["api_key"] = config.api_key
    return init_chat_model(config.model, **kwargs)


class ModelCaller:
    """Asks one chat model for `ModelRecap`s, as strictly as the model supports."""

    def __init__(self, model: BaseChatModel, config: LLMConfig) -> None:
        self._model = model
        self._config = config
        self._structured: Runnable | None = None
        self._plain_json = False

    def prepare(self) -> None:
        """Pick the structured-output mode once, before calls run in threads."""
        self._runnable()

    def _runnable(self) -> Runnable:
        """Structured output with the raw message kept (for usage), as strict as supported.

        `method`/`strict` are passed only to models whose signature names them: models that
        take **kwargs would forward an unknown option to the server and fail at call time.
        """
        if self._structured is not None:
            return self._structured
        model = self._model
        try:
            params: Any = inspect.signature(model.with_structured_output).parameters
        except (TypeError, ValueError):
            params = {}
        preferred: dict[str, Any] = {}
        if "method" in params:
            preferred["method"] = "json_schema"
        if "strict" in params:
            preferred["strict"] = True
        for kwargs in (preferred, {}) if preferred else ({},):
            try:
                self._structured = model.with_structured_output(
                    RECAP_JSON_SCHEMA, include_raw=True, **kwargs
                )
                return self._structured
            except NotImplementedError:
                break
            except (TypeError, ValueError) as exc:
                log.debug("with_structured_output(%s) refused: %s", kwargs, exc)
        # No structured output at all: ask for JSON in the prompt and parse it ourselves.
        self._plain_json = True
        self._structured = model
        return model

    def ask(self, system: str, prompt: str, usage: TokenUsage) -> ModelRecap:
        """One request; the answer validated and bounded, or LLMError."""
        from langchain_core.messages import HumanMessage, SystemMessage

        runnable = self._runnable()
        if self._plain_json:
            system += PLAIN_JSON_SUFFIX + json.dumps(RECAP_JSON_SCHEMA)
        messages: list[BaseMessage] = [SystemMessage(system), HumanMessage(prompt)]
        try:
            out = runnable.invoke(messages)
        except LLMError:
            raise
        except Exception as exc:
            raise LLMError(describe_failure(exc, self._config.timeout_seconds)) from exc

        raw, parsed, error = (
            (out.get("raw"), out.get("parsed"), out.get("parsing_error"))
            if isinstance(out, dict) and "raw" in out
            else (out, None, None)
        )
        usage.add(raw)
        metadata = getattr(raw, "response_metadata", None) or {}
        if metadata.get("finish_reason") == "length" or metadata.get("stop_reason") == "max_tokens":
            raise LLMError("the model's answer was cut off (too long)")
        if not getattr(raw, "tool_calls", None):
            # The answer is the message text. Parse it ourselves, strictly: langchain's
            # parser repairs truncated JSON into a plausible but partial recap.
            parsed = loads_lenient(getattr(raw, "content", None))
        if parsed is None:
            if error is not None and "refusal" in type(error).__name__.lower():
                raise LLMError("the model refused to answer")
            content = getattr(raw, "content", None)
            raise LLMError(
                "the model gave an empty answer"
                if not content
                else "the model's answer was not valid JSON"
            )
        if isinstance(parsed, BaseModel):
            parsed = parsed.model_dump()
        try:
            return bounded(ModelRecap.model_validate(parsed))
        except ValidationError as exc:
            log.info("Schema-invalid model answer: %s", exc)
            raise LLMError("the model's answer did not match the expected format") from exc

    def run_all(self, tasks: Sequence[Callable[[], _T]]) -> list[_T]:
        """Run tasks a few at a time; fail on the first error, never wait past the guard."""
        workers = min(MAX_CONCURRENCY, len(tasks))
        per_call = (self._config.timeout_seconds + RETRY_ALLOWANCE_SECONDS) * (
            max(0, self._config.max_retries) + 1
        )
        futures = start_daemon_pool(tasks, workers)
        done, pending = wait(
            futures, timeout=per_call * math.ceil(len(tasks) / workers), return_when=FIRST_EXCEPTION
        )
        for future in pending:
            future.cancel()  # tasks not started yet will not start
        for future in futures:
            error = future.exception() if future in done else None
            if isinstance(error, LLMError):
                raise error
            if error is not None:
                log.error("Unexpected error in an LLM call", exc_info=error)
                raise LLMError(f"the model call failed ({type(error).__name__})") from error
        if pending:
            raise LLMError(f"the model did not answer within {round(per_call, 1):g} s")
        return [future.result() for future in futures]


def bounded(draft: ModelRecap) -> ModelRecap:
    """An answer cut to a size the engine can dedupe and merge quickly (and feed back into
    a reduce prompt); `cap_recap` makes the visible cut, with its note, afterwards."""

    def cut(text: str | None) -> str | None:
        return text[:DRAFT_CHARS] if text else text

    return draft.model_copy(
        update={
            "summary": cut(draft.summary) or "",
            "key_points": [cut(p) or "" for p in draft.key_points[:DRAFT_ITEMS]],
            "decisions": [
                d.model_copy(update={"text": cut(d.text) or ""})
                for d in draft.decisions[:DRAFT_ITEMS]
            ],
            "action_items": [
                a.model_copy(update={"task": cut(a.task) or "", "owner": cut(a.owner)})
                for a in draft.action_items[:DRAFT_ITEMS]
            ],
            "open_questions": [
                q.model_copy(update={"text": cut(q.text) or "", "asked_by": cut(q.asked_by)})
                for q in draft.open_questions[:DRAFT_ITEMS]
            ],
        }
    )


def start_daemon_pool(tasks: Sequence[Callable[[], _T]], workers: int) -> list[Future[_T]]:
    """Run `tasks` on `workers` daemon threads; one Future per task, in order.

    Not a ThreadPoolExecutor: its threads are joined at interpreter exit, so a call that
    hangs past the guard would still hold up a CLI run or a worker's shutdown.
    """
    futures: list[Future[_T]] = [Future() for _ in tasks]
    jobs = iter(list(zip(tasks, futures, strict=True)))
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                task, future = next(jobs, (None, None))
            if task is None or future is None:
                return
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(task())
            except BaseException as exc:  # handed to the waiting caller
                future.set_exception(exc)

    for index in range(workers):
        threading.Thread(target=work, name=f"llm-{index}", daemon=True).start()
    return futures


_FENCE = re.compile(r"^\s*```(?:json)?\s*|\s*```\s*$", re.IGNORECASE)


def loads_lenient(content: Any) -> Any:
    """JSON from a plain answer: tolerates code fences and text around one object."""
    if isinstance(content, list):  # content blocks
        content = "".join(b.get("text", "") if isinstance(b, dict) else str(b) for b in content)
    if not isinstance(content, str) or not content.strip():
        return None
    text = _FENCE.sub("", content.strip())
    try:
        return json.loads(text)
    except ValueError:
        pass
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        try:
            return json.loads(text[start : end + 1])
        except ValueError:
            return None
    return None


def describe_failure(exc: BaseException, timeout: float) -> str:
    """A short, user-readable reason for a failed model call (no stack, no secrets)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 8:
        chain.append(current)
        current = current.__cause__ or current.__context__
    for error in chain:
        name = type(error).__name__.lower()
        if isinstance(error, TimeoutError) or "timeout" in name:
            return f"timed out after {timeout:g} s"
        if "length" in name and "finish" in name:
            return "the model's answer was cut off (too long)"
        if "contentfilter" in name:
            return "the model's content filter blocked the answer"
        if "refusal" in name:
            return "the model refused to answer"
        # langchain-openai sets `response` on any error, even on a parse error after a 200.
        status = getattr(error, "status_code", None)
        if status is None:
            status = getattr(getattr(error, "response", None), "status_code", None)
        if isinstance(status, int) and status >= 400:
            return f"the model server answered {status}"
        if "connect" in name or isinstance(error, ConnectionError):
            return "could not reach the model server"
    return f"the model call failed ({type(exc).__name__})"
