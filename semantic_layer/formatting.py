"""Display of numbers: full precision inside, rounded only when shown (rulebook §2)."""

from datetime import date


def format_value(value, unit: str, currency: str = "USD") -> str:
    if value is None:
        return "undefined"
    if unit == "currency":
        sign = "-" if value < 0 else ""
        return f"{sign}{abs(value):,.2f} {currency}"
    if unit == "percent":
        return f"{value:,.1f}%"
    if unit == "count":
        return f"{int(value):,}"
    return f"{value:,.2f}"


def table_text(rows: list[dict], units: dict[str, str], currency: str = "USD") -> str:
    """An aligned plain-text table; metric columns are right-aligned and formatted by unit."""
    if not rows:
        return "(no rows)"
    columns = list(rows[0])
    cells = [[
        format_value(row[c], units[c], currency) if c in units else ("" if row[c] is None else str(row[c]))
        for c in columns
    ] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]

    def line(values):
        return "  ".join(v.rjust(w) if c in units else v.ljust(w) for v, w, c in zip(values, widths, columns)).rstrip()

    return "\n".join([line(columns), line(["-" * w for w in widths])] + [line(r) for r in cells])


def json_row(row: dict) -> dict:
    """A result row as JSON, CSV and XLSX carry it: ISO dates, and floats without binary residue
    (4696.2570000000005 is 4696.257; nine decimals keep every cent and far more)."""
    return {k: v.isoformat() if isinstance(v, date) else round(v, 9) if isinstance(v, float) else v for k, v in row.items()}
