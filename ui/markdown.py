"""Markdown of an answer's computations, shared by the chat and the reports."""

import html
from datetime import date

MAX_ROWS = 25


def escape(text: str) -> str:
    """Data from users' files (customer names) stays text in Markdown and HTML."""
    return html.escape(str(text), quote=False)


def cell(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return escape(value).replace("|", "\\|").replace("\n", " ")


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def numeric_columns(rows: list[dict], columns: list[str]) -> list[bool]:
    """Which columns hold numbers only (tables right-align them)."""
    return [all(is_number(r.get(c)) or r.get(c) is None for r in rows) and any(is_number(r.get(c)) for r in rows)
            for c in columns]


def table(rows: list[dict], limit: int = MAX_ROWS) -> str:
    if not rows:
        return ""
    columns = list(dict.fromkeys(k for row in rows for k in row if k not in ("measure",)))
    lines = ["| " + " | ".join(columns) + " |",
             "|" + "".join("---:|" if number else "---|" for number in numeric_columns(rows, columns))]
    lines += ["| " + " | ".join(cell(row.get(c)) for c in columns) + " |" for row in rows[:limit]]
    if len(rows) > limit:
        lines.append(f"\n*… {len(rows) - limit} more rows in the exported table*")
    return "\n".join(lines)


def period_text(period: dict | None) -> str:
    if not period:
        return ""
    start, end = period["start"], period["end"]
    if start == end:
        return f"{end} (a single day)"
    days = (date.fromisoformat(end) - date.fromisoformat(start)).days + 1
    return f"{start} to {end}, both inclusive ({days} days)"


def computation(c: dict, with_sql: bool = True, with_formula: bool = True) -> str:
    """'How this was computed': period, formula, inputs, the customers behind it, the SQL."""
    parts = []
    if c.get("period"):
        parts.append(f"**Period:** {period_text(c['period'])}")
    if c.get("comparison"):
        other = c["comparison"]["period"]
        parts.append(f"**Compared with:** {period_text(other)}")
    if c.get("formula") and with_formula:
        parts.append(f"**Formula:** {c['formula']}")
    if c.get("inputs"):
        parts.append("**Inputs**\n\n" + table(c["inputs"]))
    if c.get("customers") and c["tool"] != "list_customers":
        parts.append("**Largest contributors** (with the source rows)\n\n" + table(c["customers"], 10))
    if c.get("table") and (len(c["table"]) > 1 or c["tool"] in ("list_customers", "list_metrics")):
        parts.append("**Result**\n\n" + table(c["table"]))
    for note in c.get("notes", []):
        parts.append(f"*{note}*")
    if with_sql:
        for sql in c.get("sql", []):
            parts.append(f"**SQL** (DuckDB)\n\n```sql\n{sql}\n```")
    return "\n\n".join(parts)
