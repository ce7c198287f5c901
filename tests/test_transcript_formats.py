"""Rendering transcripts as txt, SRT, WebVTT and JSON (pure and fast)."""

from __future__ import annotations

import pytest

from summarizer.transcript_formats import (
    FORMATS,
    MEDIA_TYPES,
    clock,
    render_transcript,
    srt_timestamp,
    vtt_timestamp,
)
from summarizer.types import Segment, Transcript, Word


@pytest.fixture
def transcript() -> Transcript:
    return Transcript(
        segments=[
            Segment(
                start=0.0,
                end=2.5,
                text=" Hello everyone.",
                words=[
                    Word(start=0.0, end=0.6, word=" Hello", probability=0.9),
                    Word(start=0.7, end=2.5, word=" everyone.", probability=0.8),
                ],
            ),
            Segment(start=3.04, end=3661.0055, text="Let's ship it on Friday.", speaker="Ana"),
        ],
        language="en",
        duration=3662.0,
        source="standup.m4a",
    )


@pytest.mark.parametrize(
    ("seconds", "srt", "vtt"),
    [
        (0, "00:00:00,000", "00:00:00.000"),
        (1.5, "00:00:01,500", "00:00:01.500"),
        (61.001, "00:01:01,001", "00:01:01.001"),
        (3599.9996, "01:00:00,000", "01:00:00.000"),  # rounds up across every unit
        (3661.0055, "01:01:01,006", "01:01:01.006"),
        (36000 * 10 + 0.25, "100:00:00,250", "100:00:00.250"),  # past 99 hours still valid
        (-0.2, "00:00:00,000", "00:00:00.000"),
    ],
)
def test_timestamps(seconds: float, srt: str, vtt: str) -> None:
    assert srt_timestamp(seconds) == srt
    assert vtt_timestamp(seconds) == vtt


def test_clock_for_readers() -> None:
    assert clock(5) == "0:05"
    assert clock(754.4) == "12:34"
    assert clock(3725) == "1:02:05"


def test_srt(transcript: Transcript) -> None:
    assert render_transcript(transcript, "srt") == (
        "1\n00:00:00,000 --> 00:00:02,500\nHello everyone.\n"
        "\n"
        "2\n00:00:03,040 --> 01:01:01,006\nAna: Let's ship it on Friday.\n"
    )


def test_vtt(transcript: Transcript) -> None:
    assert render_transcript(transcript, "vtt") == (
        "WEBVTT\n"
        "\n"
        "00:00:00.000 --> 00:00:02.500\nHello everyone.\n"
        "\n"
        "00:00:03.040 --> 01:01:01.006\n<v Ana>Let's ship it on Friday.\n"
    )


def test_txt_is_plain_text(transcript: Transcript) -> None:
    """As Whisper's own writer: one segment a line, no times (srt/vtt/json have them)."""
    assert render_transcript(transcript, "txt") == (
        "Hello everyone.\nAna: Let's ship it on Friday.\n"
    )


def test_txt_with_timestamps(transcript: Transcript) -> None:
    assert render_transcript(transcript, "txt", timestamps=True) == (
        "[0:00] Hello everyone.\n[0:03] Ana: Let's ship it on Friday.\n"
    )


def test_json_round_trips(transcript: Transcript) -> None:
    rendered = render_transcript(transcript, "json")
    assert rendered == transcript.model_dump_json()
    assert Transcript.model_validate_json(rendered) == transcript


def test_cue_text_cannot_break_the_file() -> None:
    """Blank lines end a cue and "-->"/"<" mean something in WebVTT: they must not leak."""
    nasty = Transcript(
        segments=[
            Segment(start=1, end=1, text="a --> b\n\nc <i>d</i> & e"),
            Segment(start=2, end=3, text="   "),  # nothing to show: no cue at all
        ]
    )
    srt = render_transcript(nasty, "srt")
    assert srt == "1\n00:00:01,000 --> 00:00:01,001\na --> b c <i>d</i> & e\n"
    vtt = render_transcript(nasty, "vtt")
    assert vtt == (
        "WEBVTT\n\n00:00:01.000 --> 00:00:01.001\na --&gt; b c &lt;i&gt;d&lt;/i&gt; &amp; e\n"
    )


def test_empty_transcript() -> None:
    empty = Transcript(segments=[])
    assert render_transcript(empty, "srt") == ""
    assert render_transcript(empty, "vtt") == "WEBVTT\n"
    assert render_transcript(empty, "txt") == ""


def test_format_names_are_forgiving(transcript: Transcript) -> None:
    assert render_transcript(transcript, ".SRT") == render_transcript(transcript, "srt")


def test_unknown_format(transcript: Transcript) -> None:
    with pytest.raises(ValueError, match="use one of: txt, srt, vtt, json"):
        render_transcript(transcript, "docx")


def test_every_format_has_a_media_type() -> None:
    assert set(MEDIA_TYPES) == set(FORMATS)
