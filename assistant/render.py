"""Plain-text rendering of a computation ("how this was computed") for the terminal."""

from semantic_layer.formatting import table_text

MAX_TABLE_ROWS = 12


def _table(rows: list[dict]) -> str:
    if not rows:
        return ""
    shown = [{k: _cell(v) for k, v in row.items() if k != "sources"} for row in rows[:MAX_TABLE_ROWS]]
    text = table_text(shown, {})
    if len(rows) > MAX_TABLE_ROWS:
        text += f"\n... {len(rows) - MAX_TABLE_ROWS} more rows"
    return text


def _cell(value):
    if isinstance(value, float):
        return f"{value:,.2f}"
    return value


def computation_text(c: dict, show_sql: bool = False) -> str:
    if c["tool"] in ("ask_clarification", "list_metrics"):
        return ""
    lines = [f"How this was computed ({c['tool']}):"]
    if c.get("period"):
        lines.append(f"  period: {c['period']['start']} to {c['period']['end']} (inclusive)")
    if c.get("formula"):
        lines.append(f"  formula: {c['formula']}")
    if c.get("inputs"):
        lines.append("  inputs:")
        lines += ["    " + line for line in _table(c["inputs"]).splitlines()]
    if c.get("customers") and c["tool"] != "list_customers":
        lines.append("  largest contributors:")
        lines += ["    " + line for line in _table(c["customers"]).splitlines()]
    if c.get("table") and (len(c["table"]) > 1 or c["tool"] == "list_customers"):
        lines.append("  result:")
        lines += ["    " + line for line in _table(c["table"]).splitlines()]
    for sql in c.get("sql", []):
        if show_sql:
            lines.append("  sql:")
            lines += ["    " + line for line in sql.splitlines()]
    if c.get("sql") and not show_sql:
        lines.append(f"  sql: {len(c['sql'])} statement(s); add --sql to see them")
    return "\n".join(lines)
