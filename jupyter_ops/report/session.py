"""The session's report log: every magic's result, in order, ready for ``%ops_report``."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ReportLog", "session_log"]


@dataclass
class LogEntry:
    call: str
    result: Any
    time: str = field(default_factory=lambda: _dt.datetime.now(_dt.timezone.utc)
                      .isoformat(timespec="seconds"))


class ReportLog:
    """Results recorded in this kernel, oldest first."""

    def __init__(self) -> None:
        self.entries: list[LogEntry] = []

    def add(self, result: Any, call: str) -> None:
        self.entries.append(LogEntry(call, result))

    def clear(self) -> None:
        self.entries.clear()

    def __len__(self) -> int:
        return len(self.entries)

    def to_report(self, title: str = "jupyter-ops report") -> Any:
        from .model import Report

        report = Report(title)
        for e in self.entries:
            report.add(e.result, call=e.call)
        return report


_LOG = ReportLog()


def session_log() -> ReportLog:
    """The process-wide log that magics append to."""
    return _LOG
