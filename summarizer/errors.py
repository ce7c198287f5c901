"""One small error hierarchy; every message is fit to show a user as it is."""


class SummarizerError(Exception):
    """Base class of every error the pipeline raises on bad input or failed work."""


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
