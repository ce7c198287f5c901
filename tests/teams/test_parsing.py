"""Reading Teams text, activities and meeting transcripts."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from botbuilder.schema import Activity

from adapters.teams.activities import (
    addresses_bot,
    channel_key,
    command_text,
    conversation_of,
    file_refs,
    split_thread,
    timezone_of,
)
from adapters.teams.text import inert, to_plain
from adapters.teams.vtt import parse_vtt

PAYLOAD = json.loads((Path(__file__).parent / "payloads" / "message.json").read_text())


def _activity(**changes) -> Activity:
    data = copy.deepcopy(PAYLOAD)
    data.update(changes)
    return Activity().deserialize(data)


def test_plain_text_from_teams_markup() -> None:
    assert to_plain("<at>Bob Stone</at> can you&nbsp;review &amp; merge?") == (
        "@Bob Stone can you review & merge?"
    )
    assert to_plain("<p>First</p><p>Second <b>bold</b></p><br>third") == "First\nSecond bold\nthird"
    assert to_plain("a < b and c > d") == "a < b and c > d"
    assert to_plain(None) == ""


def test_inert_breaks_tags_links_and_mass_mentions() -> None:
    text = inert("<at>Bob</at> [x](https://e.example) @channel @Everyone < at>")
    assert "<at>" not in text and "</at>" not in text and "< at>" not in text
    assert "](https" not in text and "@channel" not in text and "@Everyone" not in text
    # Ordinary text reads the same (an invisible joiner keeps "<" from opening a tag).
    assert inert("a < b").replace("\u2060", "") == "a < b"
    assert inert("x <= y, 3 > 2") == "x <= y, 3 > 2"


def test_the_bots_mention_is_removed_and_others_become_names() -> None:
    activity = _activity(text="<at>balafon</at> recap since <at>Bob Stone</at>'s talk")
    activity.entities.append(
        activity.entities[0]
        .__class__()
        .deserialize(
            {
                "type": "mention",
                "text": "<at>Bob Stone</at>",
                "mentioned": {"id": "29:1Bob", "name": "Bob Stone"},
            }
        )
    )
    assert addresses_bot(activity)
    assert command_text(activity) == "recap since @Bob Stone's talk"
    # Mentioning someone else is not addressing the bot (outside a 1:1 chat).
    other = _activity(
        text="<at>Bob Stone</at> hi",
        entities=[
            {
                "type": "mention",
                "text": "<at>Bob Stone</at>",
                "mentioned": {"id": "29:1Bob", "name": "Bob Stone"},
            }
        ],
    )
    assert not addresses_bot(other)


def test_conversations_threads_and_keys() -> None:
    conversation = conversation_of(_activity())
    assert conversation.is_channel and conversation.thread == "1763900000000"
    assert conversation.id == "19:Qd2sDesignChannel0001@thread.tacv2"
    assert conversation.key == conversation.id  # fits the database as it is
    assert conversation.team_id == "19:Zt7vYQ9vS6yTeamThread@thread.tacv2"
    assert split_thread("19:a@thread.v2") == ("19:a@thread.v2", None)
    long = "a:1" + "x" * 150
    assert channel_key(long) == channel_key(long) and len(channel_key(long)) <= 64
    assert channel_key(long) != channel_key(long + "y")
    assert timezone_of(_activity()) == "Europe/Berlin"
    assert timezone_of(_activity(localTimezone="Not/AZone", entities=[])) is None


def test_file_attachments() -> None:
    activity = _activity(
        attachments=[
            {"contentType": "text/html", "content": "<div>hi</div>"},
            {
                "contentType": "application/vnd.microsoft.teams.file.download.info",
                "name": "../../standup.m4a",
                "contentUrl": "https://contoso.sharepoint.com/x/standup.m4a",
                "content": {
                    "downloadUrl": "https://contoso.sharepoint.com/dl?tempauth=abc",
                    "uniqueId": "5E0C-11",
                    "fileType": "m4a",
                },
            },
            {
                "contentType": "audio/ogg",
                "contentUrl": "https://smba.trafficmanager.net/emea/v3/attachments/1/views/original",
            },
            {
                "contentType": "image/png",
                "contentUrl": "https://smba.trafficmanager.net/emea/v3/attachments/2/views/original",
            },
        ]
    )
    upload, voice = file_refs(activity)
    assert (upload.id, upload.name, upload.url) == (
        "5E0C-11",
        "standup.m4a",
        "https://contoso.sharepoint.com/dl?tempauth=abc",
    )
    assert upload.mimetype in ("audio/mp4", "audio/x-m4a", "audio/m4a")
    assert voice.name.startswith("recording") and voice.mimetype == "audio/ogg"


def test_teams_meeting_transcripts_parse_with_speakers() -> None:
    vtt = (
        "WEBVTT\r\n\r\nNOTE produced by Teams\r\n\r\n"
        "6b1d/12-0\r\n00:00:01.500 --> 00:00:04.000\r\n<v Ann Lee>Hello &amp; welcome.</v>\r\n\r\n"
        "6b1d/13-0\r\n01:02:03.250 --> 01:02:05.000\r\n<v.loud Bob Stone>I will fix it</v>\r\n"
        "<v Bob Stone>by Friday.</v>\r\n\r\n"
        "00:00:09.000 --> 00:00:10.000\r\n<v Cy>   </v>\r\n"
    )
    transcript = parse_vtt(vtt)
    assert [(s.start, s.end, s.speaker, s.text) for s in transcript.segments] == [
        (1.5, 4.0, "Ann Lee", "Hello & welcome."),
        (3723.25, 3725.0, "Bob Stone", "I will fix it by Friday."),
    ]
    assert transcript.duration == 3725.0 and transcript.source == "teams"
