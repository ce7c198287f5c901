"""What the bot says on Slack that the core does not (the core's sentences: bot.sentences)."""

MANAGERS = "workspace admins and owners"  # who may `forget` / set `retention` (can_manage)
NOT_IN_CHANNEL = (
    "I'm not a member of <#{channel}>, so I can't read it. "
    "Invite me with `/invite @balafon` and ask again."
)
DOWNLOAD_REFUSED = (
    "Slack didn't let me download it (the app may be missing the files:read permission)."
)
DOWNLOAD_FAILED = "Slack answered HTTP {status} when I tried to download it."
DOWNLOAD_TOO_LARGE = "it is larger than the {limit} MB limit."
NO_FILE_URL = "Slack didn't give me a download link for it."
REST_IN_FILE = "This reply is too long for a few messages: all of it is in this file."
RESPONSE_URL_GONE = "Slack's reply link for this command expired before I answered; run it again."
ITEM_CLICK_FAILED = "Sorry — I couldn't change that item just now. Try again in a moment."
