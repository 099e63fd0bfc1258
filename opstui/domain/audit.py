"""The monthly single-point-of-failure audit: pure rules, no IO.

Once a month each active person is asked "what do you do that nobody else can cover?".
The rules, in one place (``opstui audit``, the process run, the review and its exports use
them):

* **Who is asked**: every *active* person (``person.active``), away or not: time off does
  not exempt anyone, and a single point matters most when its person is away.  Inactive
  people are not asked (they cannot answer, and they already count as nobody in the bus
  factor).
* **A person's single points** (what the data already shows), from the bus-factor model of
  :mod:`opstui.domain.capacity`:

  - *skills* only they have among the active people (``skill_coverage`` count 1);
  - *processes* only they can cover (``process_coverage`` count 1: the owner when the
    process names no skills, else the active people with all of its skills);
  - *queues* where, in the last :data:`TOUCH_WEEKS` weeks, only they changed items (any
    recorded event by a person on an item of the queue, except the SLA engine's
    ``sla_*`` records) -- work nobody else has recently done there.

* **Answers** are lines in the item's comments (any author), read by ``opstui audit apply``:

  - ``skill: SKILL -> HANDLE[, HANDLE...]``: those people have the skill too;
  - ``runbook: PROCESS: TEXT``: TEXT becomes the next numbered step of the process's runbook.

  Other lines are free text.  A bad answer line (unknown person or process, missing arrow)
  refuses the whole apply with its comment and line; applying twice changes nothing.
* **Remaining risks**: the single points the data shows *now* for the active people (skills
  and processes count; queue single points are listed but only clear when someone else
  works there).  An answer applied as a skill clears the skill, and every process needing
  only skills the receiver now has.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from .capacity import AUDIT_KIND as AUDIT_KIND
from .capacity import PersonIn, ProcessIn, process_coverage, skill_coverage

#: The key of the process that is the audit (its queue, owner, trigger and time zone).
AUDIT_PROCESS = "spof-audit"
#: How far back "only they touched items in a queue" looks.
TOUCH_WEEKS = 8
#: The question every audit item asks.
QUESTION = "What do you do that nobody else can cover?"
#: The runbook a process created by ``opstui audit run --queue`` gets.
DEFAULT_RUNBOOK = (
    "1. Each person answers in their audit item (skill: / runbook: lines)\n"
    "2. Apply the answers with `opstui audit apply KEY`\n"
    "3. Review the remaining single points in the weekly review (tab 7)"
)
#: The estimate of an audit item when its process gives none (it counts in the load).
ITEM_ESTIMATE_HOURS = 0.5
#: The schedule of a process created by ``opstui audit run --queue``: day 1, 09:00.
DEFAULT_TRIGGER = "0 9 1 * *"

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class AuditError(ValueError):
    """A month or an answer line opstui cannot use (the message says why)."""


def month_text(at: datetime) -> str:
    """``2026-12`` for an instant (already in the zone that decides the month)."""
    return f"{at.year:04d}-{at.month:02d}"


def parse_month(text: str) -> date:
    """The first day of ``YYYY-MM``."""
    m = _MONTH.match(text.strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise AuditError(f"a month looks like 2026-12 (got {text!r})")
    return date(int(m.group(1)), int(m.group(2)), 1)


def month_start(month: str) -> datetime:
    """00:00 UTC on the first day of ``month`` (the occurrence time of a manual run)."""
    d = parse_month(month)
    return datetime(d.year, d.month, 1, tzinfo=UTC)


def person_key(process_key: str, month: str, person_id: int) -> str:
    """The unique occurrence key of one person's audit in one month: the same
    ``process_run.occurrence_key`` that makes each process occurrence happen once."""
    return f"{process_key}@{month}#person:{person_id}"


def month_prefix(process_key: str, month: str) -> str:
    return f"{process_key}@{month}#person:"


# --- single points -------------------------------------------------------------------


@dataclass(frozen=True)
class SinglePoints:
    """What only ``handle`` covers, as the data shows it."""

    handle: str
    skills: tuple[str, ...] = ()
    processes: tuple[str, ...] = ()
    queues: tuple[str, ...] = ()

    @property
    def risks(self) -> int:
        """Skills and processes: the single points an answer can clear."""
        return len(self.skills) + len(self.processes)

    @property
    def count(self) -> int:
        return self.risks + len(self.queues)


def single_points(
    people: Sequence[PersonIn],
    processes: Sequence[ProcessIn],
    touchers: Mapping[str, Iterable[str]],
) -> dict[str, SinglePoints]:
    """Each active person's single points (rules in the module doc), by handle.

    ``touchers`` maps a queue slug to the handles who changed its items in the window."""
    active = {p.handle for p in people if p.active}
    skills: dict[str, list[str]] = {h: [] for h in active}
    for cov in skill_coverage(people):
        if cov.count == 1:
            skills[cov.people[0]].append(cov.name)
    procs: dict[str, list[str]] = {h: [] for h in active}
    for cov in process_coverage(processes, people):
        if cov.count == 1:
            procs[cov.people[0]].append(cov.name)
    queues: dict[str, list[str]] = {h: [] for h in active}
    for queue, who in touchers.items():
        handles = {h for h in who if h in active}
        others = {h for h in who if h not in active}
        if len(handles) == 1 and not others:
            queues[next(iter(handles))].append(queue)
    return {
        h: SinglePoints(
            h, tuple(sorted(skills[h])), tuple(sorted(procs[h])), tuple(sorted(queues[h]))
        )
        for h in sorted(active)
    }


def item_title(month: str, handle: str) -> str:
    return f"SPOF audit {month}: {handle}"


def item_body(points: SinglePoints, month: str, *, weeks: int = TOUCH_WEEKS) -> str:
    """The audit item's Markdown: the question, what the data shows, how to answer."""

    def block(title: str, names: Sequence[str], none: str) -> list[str]:
        return [f"**{title}**", *(f"- {n}" for n in names)] if names else [f"**{title}**: {none}"]

    lines = [
        f"{QUESTION} (audit {month})",
        "",
        "What the data already shows:",
        "",
        *block("Skills only you have", points.skills, "none"),
        "",
        *block("Processes only you can cover", points.processes, "none"),
        "",
        *block(f"Queues only you worked in ({weeks} weeks)", points.queues, "none"),
        "",
        "Answer in a comment, one line per answer (other lines are free text):",
        "",
        "    skill: SKILL -> HANDLE        someone else has (or learned) SKILL",
        "    runbook: PROCESS: TEXT        TEXT becomes the next step of the runbook",
        "",
        "Then `opstui audit apply KEY` adds the skills and runbook steps.",
    ]
    return "\n".join(lines)


# --- answers -------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One answer line: ``kind`` is ``skill`` or ``runbook``."""

    kind: str
    #: The skill name, or the process key.
    target: str
    #: Handles (skill) or the runbook text (one element).
    values: tuple[str, ...]
    #: Where it was written: ``comment 2, line 3``.
    where: str


_ANSWER = re.compile(r"^\s*(?:[-*]\s+)?(skill|runbook)\s*:\s*(.*)$", re.I)


def parse_answers(comments: Sequence[str]) -> list[Answer]:
    """Every answer line of ``comments`` (oldest first), in order.

    Raises :class:`AuditError` naming the comment and line of the first malformed one."""
    out: list[Answer] = []
    for ci, body in enumerate(comments, 1):
        for li, raw in enumerate(body.splitlines(), 1):
            m = _ANSWER.match(raw)
            if not m:
                continue
            where = f"comment {ci}, line {li}"
            kind, rest = m.group(1).lower(), m.group(2).strip()
            if kind == "skill":
                skill, arrow, who = rest.partition("->")
                skill = skill.strip().lower()
                handles = tuple(h.strip() for h in who.split(",") if h.strip())
                if not arrow or not skill or not handles:
                    raise AuditError(
                        f"{where}: write 'skill: SKILL -> HANDLE' (got {raw.strip()!r})"
                    )
                out.append(Answer("skill", skill, handles, where))
            else:
                proc, colon, text = rest.partition(":")
                proc, text = proc.strip(), " ".join(text.split())
                if not colon or not proc or not text:
                    raise AuditError(
                        f"{where}: write 'runbook: PROCESS: TEXT' (got {raw.strip()!r})"
                    )
                out.append(Answer("runbook", proc, (text,), where))
    return out


def runbook_with(runbook: str, step: str) -> str | None:
    """``runbook`` with ``step`` added as its next numbered step; None when a step
    already says exactly that (applying twice changes nothing)."""
    lines = [ln for ln in runbook.splitlines() if ln.strip()]
    numbered = re.compile(r"^\s*(?:\d+[.)]|[-*])\s*")
    if any(numbered.sub("", ln).strip() == step for ln in lines):
        return None
    n = sum(1 for ln in lines if re.match(r"^\s*\d+[.)]", ln)) + 1
    return "\n".join([*lines, f"{n}. {step}"])
