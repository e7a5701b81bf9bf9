"""Canonical raw tables (text columns plus `_loc`, `_file`, `_row`) built from converted rows, for
importers whose rows do not come from one canonical file (Stripe exports)."""

import pyarrow as pa

from .canonical import SUBSCRIPTION_COLUMNS
from .reader import RawTable

_RESERVED = {"customer_id", "name", "email_domain", "country", "plan", "product", "currency"} | {
    c.name for c in SUBSCRIPTION_COLUMNS
}


def customer_table(rows: list[dict], file: str = "customers") -> RawTable:
    """Customers with every metadata key as a further column (renamed when it would clash)."""
    columns = ["customer_id", "name", "email_domain", "country"]
    taken = {c.lower() for c in columns}
    names: dict[str, str] = {}
    for row in rows:
        for key in row.get("_metadata", {}):
            if key in names:
                continue
            name = key.strip().lstrip("_") or "key"
            if name.lower() in _RESERVED or name.lower() in taken:
                name = f"metadata_{name}"
            base, n = name, 2
            while name.lower() in taken:
                name, n = f"{base}_{n}", n + 1
            taken.add(name.lower())
            names[key] = name
            columns.append(name)
    data = {c: [] for c in columns}
    for row in rows:
        meta = row.get("_metadata", {})
        inverse = {names[k]: v for k, v in meta.items()}
        for c in columns:
            value = row.get(c) if c in ("customer_id", "name", "email_domain", "country") else inverse.get(c)
            data[c].append(value if value not in ("",) else None)
    return _raw("customers", file, columns, data, rows)


def subscription_table(rows: list[dict], file: str = "subscriptions", extra: list[str] | None = None) -> RawTable:
    columns = [c.name for c in SUBSCRIPTION_COLUMNS] + list(extra or [])
    data = {c: [row.get(c) for row in rows] for c in columns}
    return _raw("subscriptions", file, columns, data, rows)


def _raw(kind: str, file: str, columns: list[str], data: dict, rows: list[dict]) -> RawTable:
    table = pa.table({c: pa.array(data[c], type=pa.string()) for c in columns}) if columns else pa.table({})
    table = table.append_column("_loc", pa.array([r["_loc"] for r in rows], type=pa.string()))
    table = table.append_column("_file", pa.array([r["_file"] for r in rows], type=pa.string()))
    table = table.append_column("_row", pa.array(range(1, len(rows) + 1), type=pa.int64()))
    return RawTable(kind, file, table, columns)
