"""What a scan looked at: how much it scanned, what it passed over by choice, and what it could not read."""

from __future__ import annotations

from dataclasses import dataclass, field

FIRST_NAMED = 3
"""How many unread inputs the ``error:`` line names before it says how many more there are."""


@dataclass(frozen=True)
class ScanSummary:
    """Every input of a scan is counted in ``scanned``, listed in ``skipped`` (passed over by the user's own
    limits or by design; the run still passes) or listed in ``unreadable`` (asked for but not read: the run
    fails)."""

    target: str = ""
    source: str = ""
    scanned: int = 0
    scanned_bytes: int = 0
    skipped: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
    unreadable: tuple[tuple[str, str], ...] = ()
    history_complete: bool | None = None
    """For a git history: False when the repository lacks part of it (shallow or partial clone); else None."""

    def unread_error(self) -> str | None:
        """One line naming the first few inputs that could not be read, or None when every input was."""
        if not self.unreadable:
            return None
        named = ", ".join(f"{what} ({reason})" for what, reason in self.unreadable[:FIRST_NAMED])
        more = len(self.unreadable) - FIRST_NAMED
        count = len(self.unreadable)
        return (f"{count} input{'s' if count != 1 else ''} could not be scanned: {named}"
                + (f" and {more} more" if more > 0 else ""))
