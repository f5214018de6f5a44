"""Topic names (SPEC §3): one event topic per producing service, each with a dead-letter twin."""
COMMUNITY = "community.events"
REQUESTS = "requests.events"
MATCHING = "matching.events"
LEDGER = "ledger.events"
SETTLEMENT = "settlement.events"
EXCHANGE = "exchange.events"

EVENT_TOPICS = (COMMUNITY, REQUESTS, MATCHING, LEDGER, SETTLEMENT, EXCHANGE)
PARTITIONS = 3


def dlq(topic: str) -> str:
    """The dead-letter topic for `topic`."""
    return f"{topic}.dlq"


ALL_TOPICS = EVENT_TOPICS + tuple(dlq(t) for t in EVENT_TOPICS)
