"""Escape sequences to the terminal (title, desktop notifications) through the driver Textual runs on.

Textual has no public call for writing a raw escape sequence: `App.bell()` and
`App.copy_to_clipboard()` write through the app's driver, but the driver itself is only
reachable as a private attribute. Writing to the terminal device from the side would race
the driver's writer thread and could split one of its escape sequences in half. So
`TerminalOutput.tap(driver_class)` subclasses the driver class the app was given (a public
attribute) and keeps the instance Textual creates, and `write` goes through the driver's
public `Driver.write`, queued behind the frames. Headless runs (tests) write nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.driver import Driver


class TerminalOutput:
    """Writes escape sequences and rings the bell on the terminal the app runs in."""

    def __init__(self, bell: Callable[[], None]) -> None:
        self._bell = bell
        self.driver: Driver | None = None

    def tap(self, driver_class: type[Driver]) -> type[Driver]:
        """A subclass of `driver_class` that hands its instance to this output when Textual creates it."""
        output = self

        class TappedDriver(driver_class):  # type: ignore[valid-type, misc]
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                output.driver = self

        TappedDriver.__name__ = TappedDriver.__qualname__ = driver_class.__name__
        return TappedDriver

    def write(self, sequence: str) -> None:
        """Queue `sequence` behind the driver's frames; nothing happens before the driver starts."""
        if self.driver is None or self.driver.is_headless:
            return
        try:
            self.driver.write(sequence)
        except AssertionError:  # the driver has left application mode (the app is closing)
            pass

    def bell(self) -> None:
        self._bell()
