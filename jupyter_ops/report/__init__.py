"""Reproducible reports: :class:`Report`, provenance helpers and the session's report log."""

from ..provenance import environment, hash_input, make_provenance
from .model import FORMATS, Report, Section, write_atomic
from .session import ReportLog, session_log

__all__ = ["Report", "Section", "FORMATS", "write_atomic", "environment", "hash_input",
           "make_provenance", "ReportLog", "session_log"]
