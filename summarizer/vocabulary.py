"""Verbs that start a task. "I'll send the deck" is a commitment; "I'll tell you" or
"I'll just say" is talk. The rules accept a first-person, requested or assigned clause as
an action item only when it starts with one of these (after adverbs such as "just")."""

TASK_VERBS = frozenset(
    """
    add address analyse analyze answer archive arrange ask assign audit automate backport
    benchmark book brief bring build buy calculate call cancel change check chase circulate
    clarify clean close collect compare compile complete configure confirm contact convert
    coordinate copy correct cost create debug decide define delete deliver demo deploy describe
    design document double-check download draft draw drive email enable escalate estimate
    evaluate examine explore export extend file fill finalise finalize find finish fix follow
    forward gather generate get handle help hire host implement import improve include
    inform install integrate interview investigate invite label launch lead list log look
    mail maintain make manage map mark measure meet mention merge migrate mock model monitor
    patch
    move notify order organise organize outline pay phone pick ping plan polish post prepare
    present price print prioritise prioritize produce profile prototype provide publish pull
    purchase push put raise reach read rebase rebuild reconcile record redesign refactor
    register release remind remove rename reorganise repair replace reply report request
    research reserve reset resolve respond restart restore review revise rewrite roll rotate
    run schedule scope search send set setup share ship sign sketch sort speak specify split
    start submit summarise summarize supply support sync take talk test think track train
    translate triage try type update upgrade upload validate verify visit work write
    """.split()
)

# Words allowed between the modal and the verb: "I'll just send", "I will then check".
LEADING_ADVERBS = frozenset(
    "just also then quickly probably definitely first still now again go ahead and".split()
)
HEDGES = frozenset("try probably maybe".split())

# Chat adds the verbs of everyday work talk ("I'll expand the volume", "can you loop in
# support?"); TASK_VERBS itself stays as it is (the meeting model's features read it). A
# closed list, not "any verb after I'll": "I'll lose my mind", "I'll drink to that" and
# "I'll hold you to that" are no tasks.
CHAT_TASK_VERBS = TASK_VERBS | frozenset(
    """
    adjust allocate announce approve backfill backup block book bump cancel chase circle do
    clean compile counter cover dig dm draft edit escalate expand figure file fill flag
    follow forward grab handle handover investigate invite invoice loop message
    migrate negotiate nudge onboard open own pair pitch ping postpone prep proofread
    quote reach reboot recruit refresh refund reject reconnect renew reply reschedule
    resize retry revert rerun reroute rotate scale script sign snooze spin submit tackle
    text transcribe transfer tweak tune unblock uninstall unlock verify wire
    """.split()
)
