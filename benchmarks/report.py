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


# Beside minigrad's columns when the compiled engine ran: its figure and its ratio to NumPy,
# and to PyTorch and jax.jit when they ran too.
COMPILED_COLUMNS = ("minigrad-compiled", "compiled/numpy")
COMPILED_RATIOS = {"torch": "compiled/torch", "jax-jit": "compiled/jax-jit"}


def markdown_table(rows: list[dict]) -> str:
    ran = {engine for row in rows for engine, value in row["values"].items() if value is not None}
    compiled = "minigrad-compiled" in ran
    jax = "jax-jit" in ran
    columns = list(COLUMNS)
    if jax:
        columns.insert(5, "jax-jit")
    references = [e for e in COMPILED_RATIOS if e in ran] if compiled else []
    at = columns.index("minigrad") + 1
    if compiled:
        columns[at:at] = [*COMPILED_COLUMNS, *(COMPILED_RATIOS[e] for e in references)]
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
        if jax:
            cells.insert(5, figure(values.get("jax-jit")))
        if compiled:
            cells[at:at] = [
                figure(values.get("minigrad-compiled")),
                *(ratio(row, e, "minigrad-compiled") for e in ["numpy", *references]),
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
