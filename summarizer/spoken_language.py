"""Is this English? A guard for English-only models, which turn any other language into
fluent English nonsense ("Thank you so much for watching!") instead of failing.

An English-only model decodes foreign speech unsurely or in loops. Measured with tiny.en
on espeak-ng speech (docs/quality.md, "Languages"): English clips and real English
recordings average a log-probability of -0.02 to -0.37 per token with compression ratios
under 1.5; French, German, Spanish, Italian, Portuguese and Dutch clips average -0.48 to
-1.52, and the few that decode confidently loop (compression ratio 6 to 12.5). So the
first half-minute of decoded speech is judged on both; when it looks foreign and the
multilingual model is installed, that model's language identification names the
language (and clears noisy English); without it, a stricter threshold decides alone.
On the 24 foreign and 42 English clips measured, both ways refuse every foreign clip and
no English one; the multilingual model names 16 of the 24 languages (espeak-ng's
Portuguese and Dutch are poor: it hears Latin), the others are refused as "not English".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from summarizer.errors import UnsupportedLanguageError
from summarizer.languages import language_name
from summarizer.multilingual import INSTALL_HINT

# Judge after this much decoded speech (or at the end of the first window).
JUDGE_SECONDS = 30.0
# Token-weighted mean log-probability under which speech looks foreign: confirmed by the
# multilingual model when it is installed. Without it a refusal needs loops or a mean
# under REFUSE_LOGPROB (a false refusal loses an English recording: far-field or noisy
# English can sit near -0.7); between the two the transcript says it may not be English.
SUSPECT_LOGPROB = -0.55
FOREIGN_LOGPROB = -0.7
REFUSE_LOGPROB = -0.9
# The multilingual model's English is trusted from this probability on (English clips:
# 0.83-0.99; an espeak Dutch clip it took for English: 0.30).
SURE_ENGLISH = 0.5
# Segments over this compression ratio are loops; half the tokens in loops is foreign.
LOOP_RATIO = 2.4
LOOP_SHARE = 0.5

Identify = Callable[[np.ndarray], tuple[str, float]]


@dataclass
class LanguageGuard:
    """Watches an English-only model's first decoded segments (faster-whisper `Segment`s
    with avg_logprob, compression_ratio and tokens) and raises UnsupportedLanguageError
    when they do not look like English. `identify` (the multilingual model's language
    identification on some audio) names the language when available."""

    audio: np.ndarray
    rate: int
    identify: Identify | None = None
    source: str | None = None
    decided: bool = field(default=False, init=False)
    # Looked foreign, but not surely enough to refuse: the transcript gets DOUBT_NOTE.
    doubt: bool = field(default=False, init=False)
    _tokens: int = field(default=0, init=False)
    _logprob: float = field(default=0.0, init=False)
    _looped: int = field(default=0, init=False)
    _seconds: float = field(default=0.0, init=False)
    _first: float | None = field(default=None, init=False)

    def observe(self, segment: Any) -> None:
        if self.decided:
            return
        tokens = max(1, len(segment.tokens))
        self._tokens += tokens
        self._logprob += segment.avg_logprob * tokens
        if segment.compression_ratio > LOOP_RATIO:
            self._looped += tokens
        self._seconds += max(0.0, segment.end - segment.start)
        if self._first is None:
            self._first = segment.start
        if self._seconds >= JUDGE_SECONDS:
            self.finish()

    def finish(self) -> None:
        """Judge what was seen (called at the end of the window if not done before)."""
        if self.decided or not self._tokens:
            return
        self.decided = True
        logprob = self._logprob / self._tokens
        looped = self._looped / self._tokens >= LOOP_SHARE
        if not looped and logprob >= SUSPECT_LOGPROB:
            return
        strong = looped or logprob < FOREIGN_LOGPROB
        if self.identify is not None:
            start = round((self._first or 0.0) * self.rate)
            language, probability = self.identify(self.audio[start:])
            if language != "en":
                raise unsupported(language, source=self.source)
            if probability >= SURE_ENGLISH or not strong:
                return  # unsure English (noise, an accent): keep transcribing
        if looped or logprob < REFUSE_LOGPROB:
            raise unsupported(None, source=self.source)
        self.doubt = strong


DOUBT_NOTE = (
    "The speech may not be English, and the speech-to-text model here understands English "
    "only: if this transcript reads as nonsense, an admin can set WHISPER_MODEL=multilingual."
)


CHANNEL_FIX = "; `@balafon language {code}` then fixes the language of a channel"


def unsupported(
    language: str | None,
    *,
    source: str | None = None,
    configured: bool = False,
    fix: str = CHANNEL_FIX,
) -> UnsupportedLanguageError:
    """The error for speech in `language` (None: not English, language unknown) given to an
    English-only model, saying how to switch; `configured`: the language was set (by
    WHISPER_LANGUAGE, a channel or a request), not heard. `fix`: what to do once the model
    is multilingual, where the language was heard ({code}: the language's code); chat's
    command unless the caller reads this elsewhere (the HTTP API)."""
    if language and configured:
        heard = f"the language is set to {language_name(language)}"
    elif language:
        heard = f"the speech sounds like {language_name(language)}"
    else:
        heard = "the speech does not sound like English"
    switch = (
        "To transcribe other languages, an admin sets WHISPER_MODEL=multilingual "
        f"(installed with `{INSTALL_HINT}`)"
    )
    if not configured:
        switch += fix.format(code=language or "<code>")
    return UnsupportedLanguageError(
        f"{heard}, and the speech-to-text model here understands English only. {switch}.",
        language=language,
        source=source,
        configured=configured,
    )
