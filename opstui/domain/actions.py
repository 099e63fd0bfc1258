"""The vocabulary of transition actions: their types, the keys each takes, the assign
rules, the placeholders templates may use, and how a result is shown."""

from __future__ import annotations

from typing import Any

ACTION_TYPES = ("move", "assign", "notify", "follow_up")
ASSIGN_RULES = ("person", "triage", "least_loaded", "round_robin")
ACTION_KEYS: dict[str, set[str]] = {
    "move": {"type", "queue"},
    "assign": {"type", "rule", "person", "skill", "queue"},
    "notify": {"type", "person", "triage_of", "message"},
    "follow_up": {
        "type",
        "queue",
        "kind",
        "title",
        "body",
        "priority",
        "estimate",
        "assign",
        "then",
    },
}
ASSIGN_KEYS = {"rule", "person", "skill", "queue"}
#: The keys each assign rule uses (any other is refused, never ignored).
ASSIGN_RULE_KEYS: dict[str, set[str]] = {
    "person": {"rule", "person"},
    "triage": {"rule", "queue"},
    "least_loaded": {"rule", "skill"},
    "round_robin": {"rule", "skill"},
}
#: Placeholders a message or title template may use.
TEMPLATE_FIELDS = ("key", "title", "queue", "status", "owner", "kind", "priority")
#: Placeholders a process's item title may use.
PROCESS_TITLE_FIELDS = ("name", "date", "key", "title", "process")

MAX_CHAIN_DEPTH = 12


def describe_action(action: dict[str, Any]) -> str:
    """One line for an action result, indented by its depth in the chain.

    Results made in a dry run already read "would ...".
    """
    text = str(action.get("text") or action.get("type") or "")
    return "  " * int(action.get("depth") or 0) + text
