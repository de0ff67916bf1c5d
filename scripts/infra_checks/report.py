"""Printing: sections, errors, tables."""

from __future__ import annotations


class Report:
    """Collects errors per section and prints as it goes."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def section(self, title: str) -> None:
        print(f"\n== {title}")

    def error(self, message: str) -> None:
        self.errors.append(message)
        print(f"  ERROR {message}")

    def note(self, message: str) -> None:
        print(f"  {message}")


def table(rows: list[list[str]], header: list[str]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    for row in [header, ["-" * w for w in widths], *rows]:
        print("  " + "  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip())
