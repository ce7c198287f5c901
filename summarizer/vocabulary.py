"""Verbs that start a task. "I'll send the deck" is a commitment; "I'll tell you" or
"I'll just say" is talk. The rules accept a requested or assigned clause as an action item
only when it starts with one of these (after adverbs such as "just"); after "I'll" any verb
but talk, states and courtesy (NOT_WORK_VERBS) will do."""

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

# Chat requests also hand out duties ("can you cover the interview?"); TASK_VERBS itself
# stays as it is (the meeting model's features read it).
CHAT_TASK_VERBS = TASK_VERBS | frozenset(
    """
    cover own expand counter bump dig loop grab tackle nudge kick spin renew negotiate
    escalate downgrade revert rerun retry reboot scale resize approve reject sign lock unlock
    backfill refresh onboard announce recruit reconnect
    """.split()
)

# After "I'll" or "I will" comes a verb, so such a commitment may name any task ("I'll
# expand the volume", "I'll counter with 10%") except these: talk, states and courtesy.
# After "I'm going to" may come a place ("...to the office"), so that form needs a task verb.
NOT_WORK_VERBS = frozenset(
    """
    be been have has had say tell think guess admit agree see know let keep leave pass show
    stop wait hope believe feel mean remember forget assume expect imagine suppose wonder need
    want like love hate miss bet never not probably go come stay sit stand die live head hop
    step jump drop catch echo second defer allow buy explain rephrase elaborate repeat join
    hang chime pop swing sleep eat rest relax trust stick owe confess
    """.split()
)
