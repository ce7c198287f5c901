"""Teams message text in and out.

In: activity text and Graph message bodies are HTML-ish (`<at>Name</at>` mentions, `<p>`,
entities); the summarizer wants plain text with mentions as `@Name`, and the command parser
wants the text without the bot's own mention. Out: text that came from people is made
inert before it goes into a card: no `<at>` tag (Teams would turn it into a ping when a
mention entity of the same name exists), no Markdown link, no `@channel`-style word.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from html.parser import HTMLParser

_BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "blockquote", "pre"}
_SKIP = {"script", "style", "attachment"}
_TAG = re.compile(r"<\s*(/?)\s*([a-zA-Z][\w:-]*)")
_MASS = re.compile(r"@(channel|here|everyone|team)\b", re.IGNORECASE)
_LINK = re.compile(r"\]\s*\(")
_SPACES = re.compile(r"[ \t\u00a0]+")
_LINES = re.compile(r"\s*\n\s*")


class _Plain(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skip += 1
        elif tag == "at":
            self.parts.append("@")
        elif tag in _BLOCKS:
            self.parts.append("\n")
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.parts.append(alt)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def to_plain(text: str | None) -> str:
    """HTML or Teams text as the plain text people read: `<at>Bob</at>` → `@Bob`."""
    if not text:
        return ""
    if "<" not in text and "&" not in text:
        return text.strip()
    parser = _Plain()
    parser.feed(text)
    parser.close()
    plain = _SPACES.sub(" ", "".join(parser.parts))
    return _LINES.sub("\n", plain).strip()


def without_mentions(text: str, mention_texts: Iterable[str]) -> str:
    """Remove the given mention markup (the bot's own `<at>balafon</at>`) from `text`."""
    for mention in mention_texts:
        if mention:
            text = text.replace(mention, " ")
            text = text.replace(html.escape(mention, quote=False), " ")
    return text


def inert(text: str) -> str:
    """People's text, safe inside a card: no tags, links or mass mentions survive."""
    text = _TAG.sub(lambda m: "<\u2060" + m.group(0)[1:], text)
    text = _LINK.sub("]\u200b(", text)
    return _MASS.sub(lambda m: "@\u2060" + m.group(1), text)
