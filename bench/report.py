"""Report: one Section per benchmark — rich tables for the terminal and its numbers for JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table


@dataclass
class Section:
    key: str
    table: Table
    data: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    more: list[Table] = field(default_factory=list)  # further tables, printed after the first


def table(title: str, *columns: str) -> Table:
    t = Table(title=title, title_justify="left", title_style="bold")
    for i, name in enumerate(columns):
        t.add_column(name, justify="left" if i == 0 else "right")
    return t


def show(console: Console, section: Section) -> None:
    for t in (section.table, *section.more):
        console.print(t)
    for note in section.notes:
        console.print(f"  [dim]{note}[/dim]")
    console.print()


def write_json(path: Path, machine: dict[str, Any], sections: list[Section]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"machine": machine, **{s.key: s.data for s in sections}}
    path.write_text(json.dumps(doc, indent=2, default=float) + "\n")
