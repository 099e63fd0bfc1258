"""The review's view of the monthly single-point-of-failure audit (as of now, like the
bus factor): coverage (who answered this month) and the single points that remain.
Rules: :mod:`opstui.domain.audit`; the status: :mod:`opstui.services.processes.audit`."""

from __future__ import annotations

from ..processes.audit import AuditStatus, names

#: Columns of the remaining single points (screen and Markdown).
HEADERS = ("Person", "Kind", "Single point", "Note")


def coverage_text(st: AuditStatus) -> str:
    """``Audit 2026-12: 5 of 12 answered (not yet: bob); 3 single points remain.``"""
    text = f"Audit {st.month}: {st.line()}."
    if st.defined and st.not_asked and st.items:
        text += f" Not asked yet: {', '.join(st.not_asked)}."
    return text


def rows(st: AuditStatus) -> list[tuple[str, str, str, str]]:
    """(person, kind, name, note) of every remaining single point."""
    answered = {i.handle: i for i in st.items}
    out = []
    for person, kind, name in st.rows():
        notes = []
        if kind == "queue":
            notes.append("clears when someone else works there")
        if kind == "process" and name in st.documented:
            notes.append("runbook updated this month")
        item = answered.get(person)
        if item is not None and not item.answered:
            notes.append(f"{item.key} not answered")
        out.append((person, kind, name, "; ".join(notes) or "-"))
    return out


def agenda_note(st: AuditStatus) -> str:
    """The agenda line's note: coverage this month."""
    if not st.items:
        return f"not run for {st.month} yet (opstui audit run)"
    waiting = st.not_answered if st.answered else ()  # "0 of 12 answered" says it all
    who = f"; not yet: {names(waiting)}" if waiting else ""
    return f"{st.answered} of {st.asked} answered in {st.month}{who}"
