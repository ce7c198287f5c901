from summarizer.participants import match_participant, mentioned_participants

PEOPLE = ["Dana Scully", "Fox Mulder", "Walter Skinner", "Dana Katz"]


def test_full_name_first_name_and_handle() -> None:
    assert match_participant("@fox mulder", PEOPLE) == "Fox Mulder"
    assert match_participant("Walter", PEOPLE) == "Walter Skinner"
    assert match_participant("fox.mulder", PEOPLE) == "Fox Mulder"


def test_ambiguous_unknown_and_mass_names_match_nobody() -> None:
    assert match_participant("Dana", PEOPLE) is None  # two Danas
    assert match_participant("Mallory", PEOPLE) is None
    assert match_participant("@channel", PEOPLE) is None
    assert match_participant("everyone", PEOPLE) is None
    assert match_participant("", PEOPLE) is None


def test_mentions_in_text() -> None:
    assert mentioned_participants("ask @walter and Fox about it", PEOPLE) == [
        "Fox Mulder",
        "Walter Skinner",
    ]
    assert mentioned_participants("Dana will know", PEOPLE) == []
    assert mentioned_participants("Dana Katz will know", PEOPLE) == ["Dana Katz"]
