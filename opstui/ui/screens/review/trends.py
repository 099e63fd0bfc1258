"""Tab 8: throughput and cycle time, charted and per queue."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Static
from textual_plotext import PlotextPlot

from ....services.review import WeeklyReview, change_text, hours_text
from .parts import ReviewTable, lit
from .tabs import ReviewTab


class TrendsTab(ReviewTab):
    """8: throughput and cycle time over the trend weeks, charted and per queue."""

    DEFAULT_CSS = """
    TrendsTab #charts { height: 14; }
    TrendsTab PlotextPlot { width: 1fr; height: 14; }
    TrendsTab .spark-label { height: 1; padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static("", classes="spark-label", id="l-done")
            yield Static("", classes="spark-label", id="l-cycle")
            with Horizontal(id="charts"):
                yield PlotextPlot(id="p-done")
                yield PlotextPlot(id="p-cycle")
            yield ReviewTable("Week of", "Done", "Median", "p85", id="t-weeks")
            yield ReviewTable(
                "Queue", "Done", "Median", "p85", "This wk", "Prev wk", "Change", id="t-queues"
            )

    def show(self, rv: WeeklyReview) -> None:
        this, prev = rv.this_week, rv.prev_week
        done = [float(w.done) for w in rv.weeks]
        self._draw_charts(rv)
        self._section(
            "l-done",
            Text.assemble(
                ("Done per week ", "bold"),
                f"({len(rv.weeks)} weeks, {int(min(done, default=0))}..{int(max(done, default=0))}): ",
                f"this week {this.done}, "
                f"{change_text(this.done, prev.done if prev else None)} vs week before",
            ),
        )
        self._section(
            "l-cycle",
            Text.assemble(
                ("Cycle time median ", "bold"),
                f"this week {hours_text(this.median_h)}, ",
                change_text(this.median_h, prev.median_h if prev else None, unit="h"),
                " vs week before",
            ),
        )
        self._table("t-weeks").fill(
            [
                (
                    f"{w.start:%Y-%m-%d}",
                    (
                        Text(f"{w.start:%d %b}"),
                        Text(str(w.done)),
                        Text(hours_text(w.median_h)),
                        Text(hours_text(w.p85_h)),
                    ),
                )
                for w in rv.weeks
            ]
        )
        self._table("t-queues").fill(
            [
                (
                    q.queue,
                    (
                        lit(q.queue),
                        Text(str(q.done)),
                        Text(hours_text(q.median_h)),
                        Text(hours_text(q.p85_h)),
                        Text(hours_text(q.week_median_h)),
                        Text(hours_text(q.prev_week_median_h)),
                        Text(change_text(q.week_median_h, q.prev_week_median_h, unit="h")),
                    ),
                )
                for q in rv.queues
            ]
        )

    def _draw_charts(self, rv: WeeklyReview) -> None:
        """Throughput bars and cycle-time lines (labels are dates we make, never DB text)."""
        labels = [f"{w.start:%d %b}" for w in rv.weeks]
        done_plot = self.query_one("#p-done", PlotextPlot)
        plt = done_plot.plt
        plt.clear_data()
        plt.clear_figure()
        plt.bar(labels, [w.done for w in rv.weeks], width=0.5)
        plt.title("Done per week")
        done_plot.refresh()
        cycle_plot = self.query_one("#p-cycle", PlotextPlot)
        plt = cycle_plot.plt
        plt.clear_data()
        plt.clear_figure()
        xs = list(range(1, len(rv.weeks) + 1))
        plt.plot(xs, [w.median_h or 0.0 for w in rv.weeks], label="median", marker="braille")
        plt.plot(xs, [w.p85_h or 0.0 for w in rv.weeks], label="p85", marker="braille")
        plt.xticks(xs, labels)
        plt.title("Cycle time (hours)")
        cycle_plot.refresh()
