"""The bot's features, each one module (or package) exporting its commands (`COMMANDS`:
parser, handler, help line) and, where it has jobs, `job_kind(services)`.

Adding a command: a `CommandSpec` in its feature's `COMMANDS`; the help and the parser
pick it up from here.
"""

from __future__ import annotations

from collections.abc import Collection

from bot import sentences
from bot.commands import CommandSpec
from bot.features import digests, governance, language, recap, speakers, status, transcription
from bot.features.items import commands as items
from bot.features.items import tracker_links

# In the order of the help (and tried in this order by the parser).
COMMANDS: tuple[CommandSpec, ...] = (
    *recap.COMMANDS,  # leaves `recap items` (`/recap items`) to the items
    *items.COMMANDS,
    *transcription.COMMANDS,
    *speakers.COMMANDS,  # before governance: `forget my voice` is not `forget`
    *language.COMMANDS,
    *digests.COMMANDS,
    *governance.COMMANDS,
    *tracker_links.COMMANDS,
    *status.COMMANDS,
)
# What a platform can do that some help lines need (`capabilities`, bot.inbound.HelpNotes).
ALL_CAPABILITIES = frozenset(need for spec in COMMANDS for need in spec.needs)


def help_text(capabilities: Collection[str] = ALL_CAPABILITIES, notes: tuple[str, ...] = ()) -> str:
    """The help: the features' lines the platform supports, then its own `notes`."""
    lines = [spec.help for spec in COMMANDS if spec.help and spec.needs.issubset(capabilities)]
    return "\n".join([sentences.HELP_HEADER, *lines, sentences.HELP_HELP, *notes])


__all__ = ["ALL_CAPABILITIES", "COMMANDS", "help_text"]
