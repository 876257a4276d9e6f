"""Results of a bench run: figures with units and targets, the table and the JSON; percentiles."""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

TERMINAL = (120, 40)


@dataclass
class Figure:
    """One measured figure, with its unit and (when the issue sets one) the target."""

    key: str
    label: str
    value: float
    unit: str
    target: str = ""
    met: bool | None = None


@dataclass
class Report:
    sizes: dict[str, Any]
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(
        self,
        key: str,
        label: str,
        value: float,
        unit: str,
        target: str = "",
        met: bool | None = None,
    ) -> None:
        self.figures.append(Figure(key, label, round(value, 4), unit, target, met))

    def to_json(self) -> dict[str, Any]:
        return {
            "sizes": self.sizes,
            "machine": {
                "python": platform.python_version(),
                "platform": platform.platform(),
                "cpus": os.cpu_count(),
                "textual": _textual_version(),
            },
            "figures": [asdict(f) for f in self.figures],
            "notes": self.notes,
        }

    def table(self) -> str:
        rows = [("figure", "value", "target", "")]
        for f in self.figures:
            value = (
                f"{f.value:,.0f}"
                if abs(f.value) >= 1000
                else f"{f.value:.3g}"
                if f.unit != "x"
                else f"{f.value:.2f}"
            )
            rows.append(
                (
                    f.label,
                    f"{value} {f.unit}",
                    f.target,
                    {True: "met", False: "MISSED", None: ""}[f.met],
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        s = self.sizes
        head = (
            f"frontdesk bench — {s['conversations']:,} conversations, {s['messages']:,} messages "
            f"(longest thread {s['thread_messages']:,}), terminal {s['terminal'][0]}x{s['terminal'][1]}, "
            f"{os.cpu_count()} CPUs, Python {platform.python_version()}, Textual {_textual_version()}"
        )
        return "\n".join([head, "", *lines, *(f"note: {n}" for n in self.notes)])


def _textual_version() -> str:
    try:
        from importlib.metadata import version

        return version("textual")
    except Exception:
        return "?"


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100) by linear interpolation; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)
