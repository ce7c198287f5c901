"""Every sentence the bot says to people, in one place."""

# Every `command` the bot suggests is written as it works when pasted in a channel (with
# the mention); in a direct message the mention may be left out (tests/hints.py checks).

UNKNOWN = "I didn't understand “{text}”.\n\n{help}"
WORKING_RECAP = "Working on a recap… it will be posted {where}."
# Where the recap goes, for WORKING_RECAP (an ephemeral ack cannot be edited on Slack).
RECAP_IN_THREAD = "in this thread"
RECAP_IN_CHANNEL = "in this channel"
RECAP_ONLY_YOU = "{where}, visible only to you"
WORKING_TRANSCRIBE = "Got it — transcribing {count} file(s). I'll post progress in the thread."
NOTHING_TO_RECAP = "There's nothing to recap: I found no messages {where}."
BAD_WINDOW = (
    "I couldn't read the time window “{window}”. Try `@balafon recap 24h`, "
    "`@balafon recap 7d`, `@balafon recap since Monday` or `@balafon recap since 2026-11-01`."
)
BAD_RETENTION = "Try `@balafon retention 30` (days, 1 to 3650) or `@balafon retention off`."
NOT_A_MEMBER = "You can only recap channels you are a member of, and you're not in <#{channel}>."
NO_SUCH_CHANNEL = (
    "There's no channel #{channel} that I can see, so I can't recap it: check its name "
    "(a private channel must have me as a member)."
)
NO_FILES = (
    "I didn't find an audio or video file to transcribe. Share one and mention me on it, "
    "or reply `@balafon transcribe` in the thread of a message that has one."
)
NOT_MEDIA = "“{name}” isn't an audio or video file, so I can't transcribe it."
TOO_LARGE = "“{name}” is {size} MB; the limit is {limit} MB, so I didn't download it."
MEDIA_FAILED = "I couldn't transcribe “{name}”: {reason}"
NO_SPEECH = "I transcribed “{name}” but heard no speech, so there's nothing to recap."
TRANSCRIBING = "Transcribing “{name}”…"
DOWNLOADING = "Downloading “{name}”…"
RECEIVING = "Receiving “{name}”…"  # a platform whose files are already here (the playground)
TRANSCRIBED = "Transcribed “{name}” ({duration} of audio)."
JOB_FAILED = "Sorry — I couldn't finish this {kind}: {reason}"
JOB_GAVE_UP = (
    "Sorry — this {kind} failed several times and I stopped trying (job #{job_id}). "
    "An administrator can look it up."
)
AUTO_TRANSCRIBE_ON = "Auto-transcription is on here: I'll transcribe audio and video shared here."
AUTO_TRANSCRIBE_OFF = (
    "Auto-transcription is off here. Reply `@balafon transcribe` in the thread of a recording "
    "when you want one."
)

DIGEST_ON = (
    "Subscribed: this channel gets a digest {when}. The first one comes {first}. "
    "`@balafon digest off` stops it."
)
DIGEST_OFF = "Digests are off for this channel."
DIGEST_NONE = "This channel has no digest. Start one with `@balafon digest daily 09:00`."
DIGEST_STATUS = "This channel gets a digest {when}; the next one comes {next}."
DIGEST_TITLE = "Digest of <#{channel}> since {since}"
DIGEST_QUIET = "Quiet period: nothing new here since {since}."
DIGESTS_DISABLED = "Scheduled digests are not enabled on this server."
# Action item buttons (issue #16): a message shows the buttons of its first items only.
ITEM_BUTTONS = {
    "done": "Done",
    "reopen": "Reopen",
    "dismiss": "Dismiss",
    "reassign": "Reassign",
    "export": "Create issue",
    "pending": "Creating issue…",
    "failed": "Retry issue",
}
ITEM_REASSIGN_PLACEHOLDER = "Reassign to…"
ITEM_NOW = "#{number} “{task}” is {status} now, owned by {owner}."
ITEMS_WITHOUT_BUTTONS = (
    "{count} more item(s) have no buttons here: `@balafon items` lists this channel's "
    "open items with theirs."
)
# Reminders of action items, privately to their owner (bot/features/items/reminders.py).
REMINDER_BEFORE = "Reminder: your action item in {channel} is due {due}."
REMINDER_OVERDUE = "Overdue: your action item in {channel} was due {due} and is still open."
REMINDER_CLOSE = "When it's done, say {close} there."
FORGET_CONFIRM = (
    "This deletes everything I stored for this channel: messages, transcripts, recaps, "
    "action items, jobs (file names, results) and its digest. Say `@balafon forget confirm` "
    "to do it."
)
FORGOTTEN = (
    "Done: I deleted {messages} messages, {transcripts} transcripts, {recaps} recaps, "
    "{items} action items and {jobs} jobs (with their file names and results) stored for "
    "this channel, and stopped its digest."
)
NOT_A_MANAGER = (
    "Only {who} can change how long I keep this channel's data or make me forget it, "
    "so I changed nothing. Ask one of them (or the server's operator, who can list people "
    "in ADMIN_USERS)."
)
# Who manages a channel where the platform does not say (`bot.inbound.NamesManagers`).
MANAGERS_DEFAULT = "the people who manage this channel"
RETENTION_SET = "I'll keep this channel's messages and transcripts for {days} days."
RETENTION_OFF = "I'll keep this channel's messages and transcripts until you say `@balafon forget`."
RETENTION_OFF_DEFAULT = (
    "This channel no longer has a retention of its own: the server's default applies, so I "
    "keep its messages and transcripts for {days} days."
)

# Issue trackers (bot/features/items/tracker_links.py, bot/features/items/trackers.py)
NOT_A_MANAGER_LINK = (
    "Only {who} can link this channel to an issue tracker, so I changed nothing. Ask one "
    "of them (or the server's operator, who can list people in ADMIN_USERS)."
)
BAD_LINK = (
    "Link a tracker with `@balafon link github acme/website`, `@balafon link jira ENG` or "
    "`@balafon link linear ENG` ({detail})."
)
BAD_LINK_TARGET = "For {tracker}, name {expected}: “{given}” isn't one."
TRACKER_NOT_CONFIGURED = (
    "{tracker} isn't set up on this server: the operator must set {missing} "
    "(docs/trackers.md says how)."
)
LINKED = (
    "This channel's action items now go to {tracker} {target}: each item gets a "
    "“Create issue” button{auto}, and closing the issue marks the item done."
)
LINKED_AUTO = " (and new items are exported by themselves)"
UNLINKED = "This channel is no longer linked to {tracker} {target}; issues already created stay."
NOT_LINKED = (
    "This channel isn't linked to an issue tracker (`@balafon link github acme/website` links one)."
)
EXPORT_STARTED = "Creating a {tracker} issue for this item…"
EXPORT_PENDING = "The issue for this item is being created already."
EXPORT_EXISTS = "This item is already {ref}: {url}"
EXPORT_NO_ITEM = "I can't find this item any more (it may have been forgotten)."
EXPORT_FAILED = (
    "I couldn't create a {tracker} issue for “{task}”: {reason}. Press “Create issue” on "
    "the item again to retry."
)
EXPORT_GAVE_UP = "it failed several times"
STATUS_SYNC_FAILED = "I couldn't update {tracker} issue {ref} to match this item: {reason}."

# HTTP refusals made before any handler runs (bot/body_limit.py).
BODY_TOO_LARGE = "The request body is over the {limit} limit for this address."
METRICS_TOKEN_NEEDED = "Send the metrics token: Authorization: Bearer <METRICS_TOKEN>."

# `@balafon status`
STATUS = (
    "*In this channel*\n"
    "• Auto-transcription: {auto}\n"
    "• Digest: {digest}\n"
    "• Retention: {retention}\n"
    "• Recaps by: {engine}"
)
STATUS_AUTO_ON = "on (I transcribe audio and video shared here)"
STATUS_AUTO_OFF = "off (`@balafon auto-transcribe on` turns it on)"
STATUS_NO_DIGEST = "none (`@balafon digest daily 09:00` starts one)"
STATUS_RETENTION_DAYS = "{days} days"
STATUS_RETENTION_DEFAULT = "{days} days (the server's default)"
STATUS_RETENTION_FOREVER = "kept until `@balafon forget`"
STATUS_OFFLINE = "the offline engine (nothing leaves this server)"
STATUS_LLM = "the language model {model}"
STATUS_LLM_BROKEN = (
    "the offline engine, because the language model {model} could not be set up "
    "(the server's log says why)"
)
STATUS_DIGESTS_OFF = "none (scheduled digests are not enabled on this server)"
HELP_HEADER = "*Here's what I can do* (in a channel, mention me first, as below)"
HELP_HELP = "• `@balafon help` — this message."

# The per-channel speech language (bot/features/language.py)
LANGUAGE_SET = "Recordings here will be transcribed as {name}."
LANGUAGE_AUTO = "I'll detect the language of recordings here."
LANGUAGE_NEEDS_MULTILINGUAL = (
    " The speech-to-text model on this server understands English only, so {name} "
    "recordings will be refused until an admin installs the multilingual model and sets "
    "WHISPER_MODEL=multilingual (see the README's Languages section)."
)
LANGUAGE_UNKNOWN = (
    "I don't know the language “{given}”: use a code such as en, fr, de or es "
    "(`@balafon language fr`), or `@balafon language auto` to detect it."
)

# --- action items (issue #16) ---------------------------------------------------------
ITEM_NOT_ALLOWED = "Only {who} can change this item."
ITEM_REQUESTER = "<@{user}> (who asked for the recap)"
ITEM_GONE = "That action item is no longer stored (its message was deleted or forgotten)."
ITEM_STALE = "{who} changed this item already ({what}): here is how it stands now."
ITEM_SOMEONE = "Someone"
ITEM_BY_RECAP = "A later recap"  # it reported another owner or due date
ITEM_UNKNOWN_ACTION = "I don't know how to “{action}” an action item."
ITEM_EXPORT_UNAVAILABLE = (
    "Exporting to a tracker isn't available here yet: this channel needs a linked tracker "
    "(GitHub, Jira or Linear) and the server its token."
)
ITEM_NOT_FOUND = "There's no action item #{number} in this workspace."
ITEM_DONE = "Marked #{number} “{task}” done."
ITEM_REOPENED = "Reopened #{number} “{task}”."
ITEM_DISMISSED = "Dismissed #{number} “{task}”."
ITEM_ALREADY = "#{number} “{task}” is {status} already."
MY_ITEMS_TITLE = "Your open action items"
CHANNEL_ITEMS_TITLE = "Open action items in <#{channel}>"
NO_OPEN_ITEMS = "No open action items."
MY_ITEMS_SENT = "I sent you your open action items privately."
ITEMS_GROUPS = ("Overdue", "Today", "This week", "Later", "No date")
