"""The review's block for the monthly single-point-of-failure audit (in tab 7, Risks):
who answered this month, and the single points that remain (rules:
:mod:`opstui.domain.audit`; the same text and rows as the Markdown export's section)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from ....services.review import WeeklyReview
from ....services.review import audit as audit_view
from .parts import Palette, ReviewTable, lit


class AuditBlock(Vertical):
    """Coverage line plus the remaining single points (person, kind, name, note)."""

    DEFAULT_CSS = """
    AuditBlock { height: auto; max-height: 50%; }
    AuditBlock #rv-audit-cov { height: auto; padding: 0 1; }
    AuditBlock ReviewTable { height: auto; max-height: 8; }
    """

    def compose(self) -> ComposeResult:
        yield Static("", id="rv-audit-cov")
        yield ReviewTable(*audit_view.HEADERS, id="t-audit")

    def show(self, rv: WeeklyReview) -> None:
        st = rv.audit
        cov = self.query_one("#rv-audit-cov", Static)
        table = self.query_one("#t-audit", ReviewTable)
        pal = Palette.of(self.app)
        if st is None or not st.defined:
            cov.update(
                Text.assemble(
                    ("SPOF audit: ", "bold"),
                    lit(st.line() if st is not None else "not set up"),
                )
            )
            table.display = False
            return
        waiting = bool(st.not_answered) or not st.items
        cov.update(
            Text.assemble(
                ("SPOF audit ", "bold"),
                lit(
                    audit_view.coverage_text(st).removeprefix("Audit "),
                    style=pal.warn if waiting else "",
                ),
            )
        )
        rows = audit_view.rows(st)
        table.display = bool(rows)
        table.fill(
            [
                (
                    f"{person}\x00{kind}\x00{name}",
                    (
                        lit(person),
                        lit(kind),
                        lit(name, style=pal.bad if kind != "queue" else pal.warn),
                        lit(note),
                    ),
                )
                for person, kind, name, note in rows
            ]
        )
