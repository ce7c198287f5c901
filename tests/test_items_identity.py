"""Item identity (issue #16): when a reported action item is one already stored."""

from __future__ import annotations

from dataclasses import dataclass

from bot.features.items.identity import best_match, item_key, normalise, similarity
from summarizer.types import ActionItem


@dataclass
class Row:
    key: str
    task: str
    source_ref: str | None


def _stored(item: ActionItem) -> Row:
    return Row(key=item_key(item), task=item.task, source_ref=item.ref)


def test_the_same_message_and_a_reworded_task_is_the_same_item() -> None:
    first = ActionItem(task="Send the report to finance by Friday", owner="Ann", ref="m1")
    again = ActionItem(task="Send finance the report", owner="Ann", ref="m1")
    assert best_match(again, [_stored(first)]) is not None


def test_another_task_citing_the_same_message_is_another_item() -> None:
    first = ActionItem(task="Send the report to finance", ref="m1")
    other = ActionItem(task="Book the offsite venue", ref="m1")
    assert best_match(other, [_stored(first)]) is None
    assert item_key(other) != item_key(first)


def test_the_same_wording_citing_another_message_is_another_item() -> None:
    first = ActionItem(task="Send the report", ref="m1")
    assert best_match(ActionItem(task="Send the report", ref="m2"), [_stored(first)]) is None


def test_the_most_similar_of_two_items_citing_one_message_is_matched() -> None:
    a = _stored(ActionItem(task="Review the pull request for billing", ref="m1"))
    b = _stored(ActionItem(task="Review the pricing page copy", ref="m1"))
    again = ActionItem(task="Review billing pull request", ref="m1")
    assert best_match(again, [b, a]) is a


def test_a_recording_moment_is_a_source_like_a_message() -> None:
    first = ActionItem(task="Call the supplier", ref="f1@125")
    assert best_match(ActionItem(task="Call the supplier back", ref="f1@125"), [_stored(first)])
    assert best_match(ActionItem(task="Call the supplier", ref="f1@300"), [_stored(first)]) is None


def test_without_a_source_the_normalised_task_and_owner_decide() -> None:
    first = ActionItem(task="Update the roadmap.", owner="Bo", owner_id="U2")
    same = ActionItem(task="update the  ROADMAP", owner="Bo", owner_id="U2")
    other_owner = ActionItem(task="Update the roadmap", owner="Cy", owner_id="U3")
    assert best_match(same, [_stored(first)]) is not None
    assert best_match(other_owner, [_stored(first)]) is None
    assert item_key(same) == item_key(first)


def test_keys_are_sha256_hex() -> None:
    key = item_key(ActionItem(task="Ship it", ref="m9"))
    assert len(key) == 64 and int(key, 16) >= 0


def test_normalising_drops_case_accents_and_punctuation() -> None:
    assert normalise("  Réviser   le BUDGET!! ") == "reviser le budget"
    assert similarity("Ship it", "ship   it!") == 1.0
    assert similarity("Ship the release", "Water the plants") == 0.0
