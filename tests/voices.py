"""A stand-in transcriber for the speaker-naming tests: what transcription + diarization
give for a two-person standup, without decoding audio (the real pipeline is tested in
tests/test_diarization.py and the platforms' real-speech tests)."""

from __future__ import annotations

from summarizer.types import Segment, Transcript

KOFI_VOICE = [0.9, 0.1, 0.0, 0.1]
AMA_VOICE = [0.0, 0.2, 0.95, 0.0]


class TwoVoices:
    """Two diarized speakers with their voices (as the diarizer reports them)."""

    def transcribe(self, path, *, on_progress=None) -> Transcript:
        return Transcript(
            segments=[
                Segment(
                    start=0,
                    end=4,
                    speaker="Speaker 1",
                    text="I'll update the store screenshots by Wednesday.",
                ),
                Segment(
                    start=4, end=8, speaker="Speaker 2", text="I will send the invoices to finance."
                ),
            ],
            duration=8.0,
            voices={"Speaker 1": KOFI_VOICE, "Speaker 2": AMA_VOICE},
        )
