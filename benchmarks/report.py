"""The final table, in Markdown so it pastes into docs/performance.md unchanged."""

from __future__ import annotations

COLUMNS = (
    "case",
    "unit",
    "threads",
    "numpy",
    "torch",
    "minigrad",
    "minigrad/numpy",
    "minigrad/torch",
    "target",
    "met?",
)


def figure(value: float | None) -> str:
    """Three significant digits without exponents; an em dash for a missing value."""
    if value is None:
        return "—"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def ratio(row: dict, reference: str) -> str:
    mine, theirs = row["values"].get("minigrad"), row["values"].get(reference)
    if not row["ratios"] or mine is None or not theirs:
        return "—"
    return f"{mine / theirs:.2f}"


def markdown_table(rows: list[dict]) -> str:
    lines = [
        "| " + " | ".join(COLUMNS) + " |",
        "| " + " | ".join("---" for _ in COLUMNS) + " |",
    ]
    for row in rows:
        values = row["values"]
        cells = [
            row["case"],
            row["unit"],
            str(row["threads"]),
            figure(values.get("numpy")),
            figure(values.get("torch")),
            figure(values.get("minigrad")),
            ratio(row, "numpy"),
            ratio(row, "torch"),
            row["target"] or "—",
            row["met"] or "—",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
