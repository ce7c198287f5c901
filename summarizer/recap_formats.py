"""Render a Recap as Markdown (for people, files and the CLI) or JSON (for programs).

An empty section is left out (as the chat renderers do): no "Decisions" heading over
nothing, and no "- None" under "Action items"."""

from __future__ import annotations

from summarizer.types import Recap


def _cite(ref: str | None) -> str:
    return f" _({ref})_" if ref else ""


def recap_to_markdown(recap: Recap, *, title: str | None = None) -> str:
    lines = [f"# {title}" if title else "# Recap", "", recap.summary, ""]
    if recap.key_points:
        lines += ["## Key points", *(f"- {point}" for point in recap.key_points), ""]
    if recap.decisions:
        lines += ["## Decisions", *(f"- {d.text}{_cite(d.ref)}" for d in recap.decisions), ""]
    if recap.action_items:
        lines.append("## Action items")
        for item in recap.action_items:
            owner = f"**{item.owner}**: " if item.owner else ""
            due = f" (due {item.due.isoformat()})" if item.due else ""
            lines.append(f"- [ ] {owner}{item.task}{due}{_cite(item.ref)}")
        lines.append("")
    if recap.open_questions:
        lines.append("## Open questions")
        for question in recap.open_questions:
            asker = f" — {question.asked_by}" if question.asked_by else ""
            lines.append(f"- {question.text}{asker}{_cite(question.ref)}")
        lines.append("")
    footer = f"_Made by the {recap.engine} engine"
    if recap.participants:
        footer += f" from a conversation between {', '.join(recap.participants)}"
    lines.append(footer + "._")
    lines += [f"> {note}" for note in recap.notes]
    return "\n".join(lines).rstrip() + "\n"


def render_recap(recap: Recap, fmt: str, *, title: str | None = None) -> str:
    if fmt == "md":
        return recap_to_markdown(recap, title=title)
    if fmt == "json":
        return recap.model_dump_json(indent=2) + "\n"
    raise ValueError(f"unknown recap format {fmt!r} (use md or json)")
