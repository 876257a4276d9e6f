"""Reading `[assignment]`: whether the desk assigns new conversations itself, and on which channels."""

from __future__ import annotations

from typing import Any

from frontdesk.config.checks import Checks
from frontdesk.config.sections import AssignmentConfig


class AssignmentReading(Checks):
    """The reader's part for `[assignment]`."""

    def assignment(self, raw: Any) -> AssignmentConfig:
        raw = self.table(("assignment",), raw)
        self.only_known(("assignment",), raw, ("auto", "channels"))
        auto = self.typed(("assignment", "auto"), raw.get("auto", False), bool)
        channels = self.typed(("assignment", "channels"), raw.get("channels"), list[str] | None)
        return AssignmentConfig(
            auto=auto, channels=tuple(channels) if channels is not None else None
        )
