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


def ratio(row: dict, reference: str, engine: str = "minigrad") -> str:
    mine, theirs = row["values"].get(engine), row["values"].get(reference)
    if not row["ratios"] or mine is None or not theirs:
        return "—"
    return f"{mine / theirs:.2f}"


# Beside minigrad's columns when the compiled engine ran: its figure and its ratio to NumPy.
COMPILED_COLUMNS = ("minigrad-compiled", "compiled/numpy")


def markdown_table(rows: list[dict]) -> str:
    compiled = any("minigrad-compiled" in row["values"] for row in rows)
    columns = list(COLUMNS)
    if compiled:
        columns[6:6] = COMPILED_COLUMNS
    lines = [
        "| " + " | ".join(columns) + " |",
        "| " + " | ".join("---" for _ in columns) + " |",
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
        if compiled:
            cells[6:6] = [
                figure(values.get("minigrad-compiled")),
                ratio(row, "numpy", "minigrad-compiled"),
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
