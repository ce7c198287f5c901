"""What the bot says on Teams that the core does not (the core's sentences: bot.sentences).
Text conversion (HTML to plain text, making people's words inert) is adapters/teams/text.py."""

MANAGERS = "the team's owners"  # who may `forget` / set `retention` (can_manage)

HELP_MEETINGS_ON = (
    "• **Meetings**: add me to a meeting chat and, when the meeting ends, I post a recap "
    "of its transcript (or of its recording) there."
)
HELP_MEETINGS_OFF = (
    "• **Meetings**: meeting recaps are off — this bot has no Microsoft Graph credentials "
    "(an administrator sets `TEAMS_GRAPH_CLIENT_ID` and `TEAMS_GRAPH_CLIENT_SECRET`)."
)
HELP_TEAMS_NOTE = (
    "In channels and group chats, mention me (**@balafon recap**); in our 1:1 chat just type "
    "the command."
)
WELCOME = (
    "Hi! I turn conversations and recordings into recaps and action items. "
    "Mention me with `@balafon help` to see how (in our 1:1 chat, the mention is optional)."
)
NO_HISTORY = (
    "I can't read this conversation's history: Teams only lets bots read it through "
    "Microsoft Graph, which isn't configured here."
)
HISTORY_REFUSED = (
    "I can't read this conversation's history: Microsoft Graph refused (HTTP {status}). "
    "An administrator must grant the bot's Graph permissions (see docs/teams.md)."
)
NO_CONVERSATION = "I'm not (or no longer) in that conversation, so I can't post there."
NO_PRIVATE_CHAT = "I can't show you this privately: start a 1:1 chat with me first, then ask again."
DOWNLOAD_REFUSED = "Teams didn't let me download it (HTTP {status})."
DOWNLOAD_BLOCKED = (
    "I refused to fetch it: the link doesn't lead to Teams, SharePoint or OneDrive "
    "(an administrator can allow more file hosts with `TEAMS_DOWNLOAD_HOSTS`)."
)
DOWNLOAD_TOO_LARGE = "it is larger than the {limit} MB limit."
DOWNLOAD_NOT_MEDIA = "Teams sent a web page instead of the file."
NO_FILE_URL = "Teams didn't give me a download link for it."
MEETING_NOTHING = (
    "The meeting “{title}” ended, but I found no transcript or recording for it. "
    "Turn on transcription or recording next time and I'll recap it."
)
MEETING_FORBIDDEN = (
    "I couldn't read the transcript or recording of “{title}”: Microsoft Graph refused "
    "(HTTP {status}). An administrator must grant the meeting permissions (see docs/teams.md)."
)
MEETING_FAILED = "Sorry — I couldn't recap the meeting “{title}”: {reason}"
MEETING_RECAP_TITLE = "Meeting recap: “{title}”"
ANONYMOUS_NOT_LOCAL = (
    "TEAMS_ANONYMOUS=true accepts Teams requests without a token, so it only runs on a "
    "loopback address, not on {host}: use --host 127.0.0.1, or set MICROSOFT_APP_ID and "
    "MICROSOFT_APP_PASSWORD."
)
ITEM_ACTION_UNKNOWN = "That button is not one of balafon's action item buttons."
ITEM_ACTION_FAILED = "Sorry — I couldn't change that item just now. Try again in a moment."
ITEM_ACTION_DONE = "Done."
