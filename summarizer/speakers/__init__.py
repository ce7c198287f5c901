"""Offline speaker diarization: who spoke when, without torch (docs/design.md, "Speakers").

`label_speakers(transcript, path_or_audio, num_speakers)` labels a transcript's segments
"Speaker 1", "Speaker 2", …; `diarize(audio, encoder)` gives the raw turns.
"""

from summarizer.speakers.der import der
from summarizer.speakers.diarize import (
    Diarization,
    Turn,
    diarize,
    diarize_features,
    diarize_file,
    speech_regions,
)
from summarizer.speakers.encoder import VoiceEncoder, WeightsError
from summarizer.speakers.label import default_encoder, label_speakers

__all__ = [
    "Diarization",
    "Turn",
    "VoiceEncoder",
    "WeightsError",
    "default_encoder",
    "der",
    "diarize",
    "diarize_features",
    "diarize_file",
    "label_speakers",
    "speech_regions",
]
