"""Helpers every adapter needs to render the core's replies within a platform's limits."""

from __future__ import annotations

from collections.abc import Iterator


def split_text(text: str, limit: int) -> Iterator[str]:
    """Pieces of at most `limit` characters, cut at line ends; an overlong line is cut
    with an ellipsis at each end of the cut."""
    piece = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if piece:
                yield piece
                piece = ""
            yield line[: limit - 1] + "…"
            line = "…" + line[limit - 1 :]
        candidate = f"{piece}\n{line}" if piece else line
        if len(candidate) > limit:
            yield piece
            piece = line
        else:
            piece = candidate
    if piece.strip():
        yield piece
