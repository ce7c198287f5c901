"""One small error hierarchy; every message is fit to show a user as it is.

One style everywhere: a message is a lower-case clause about the file it names in `source`
(when there is one), written to follow that name, so the same words serve the CLI and the
chat replies: `balafon: error: call.mp3: the file is empty.` and `I couldn't transcribe
“call.mp3”: the file is empty.` (`explain` gives the former's `call.mp3: …` part).
"""

from __future__ import annotations


class SummarizerError(Exception):
    """Base class of every error the pipeline raises on bad input or failed work."""

    def __init__(self, message: str, *, source: str | None = None) -> None:
        super().__init__(message)
        self.source = source  # the file (or folder, or "file:line") the message is about


def explain(error: SummarizerError) -> str:
    """The message with the file it is about in front: "call.mp3: the file is empty."."""
    return f"{error.source}: {error}" if error.source else str(error)


class InputError(SummarizerError):
    """The input is missing, empty or in a format we do not read."""


class MediaError(SummarizerError):
    """An audio or video file cannot be used."""


class UnsupportedMediaError(MediaError):
    """The file is not audio or video that we can decode."""


class CorruptMediaError(MediaError):
    """The file looks like media but cannot be decoded."""


class EmptyMediaError(MediaError):
    """The file decodes but holds no audio (or only silence)."""


class MediaTooLargeError(MediaError):
    """The file is over the configured size or duration limit."""


class LLMError(SummarizerError):
    """The language model failed, timed out or answered something unusable."""


class UnsupportedLanguageError(MediaError):
    """The speech is in a language the configured speech-to-text model does not read.

    `language` is the Whisper code of what was heard ("fr"), or None when only "not
    English" is known (no multilingual model installed to say which)."""

    def __init__(
        self,
        message: str,
        *,
        language: str | None,
        source: str | None = None,
        configured: bool = False,
    ) -> None:
        super().__init__(message, source=source)
        self.language = language
        self.configured = configured  # the language was set, not heard
