"""Fill in the "expected" field of paraphrases.jsonl from its "meaning", with the semantic layer.

Usage: python tests/data/expected_paraphrases.py [paraphrases.jsonl]

Every question whose meaning names a metric gets the headline value the semantic layer gives for
that meaning (the assistant is not involved): a stock metric on `end`, a flow over start..end,
`where` values as filters ("!X" = not equal), and for a ranking the value of the top group
(the bottom group when meaning.descending is false). Definitions and unanswerable questions
(metric null) get {"value": null, "unit": null}. The file is rewritten in place.
"""

import json
import sys
import tempfile
from datetime import date
from pathlib import Path

from semantic_layer.catalog import load_catalog
from semantic_layer.compiler import Filter, MetricQuery
from semantic_layer.engine import Engine
from semantic_layer.store import import_paths

HERE = Path(__file__).resolve().parent
DATA = HERE / "shared" / "data"  # the copy of the workplace's shared data


def filters(where: dict) -> list[Filter]:
    out = []
    for dimension, value in where.items():
        op = "ne" if value.startswith("!") else "eq"
        out.append(Filter(dimension=dimension, op=op, values=[value.removeprefix("!")]))
    return out


def headline(engine: Engine, meaning: dict):
    metric, rank_by = meaning["metric"], meaning.get("rank_by")
    end = date.fromisoformat(meaning["end"])
    start = date.fromisoformat(meaning["start"]) if meaning.get("start") else end
    query = MetricQuery(
        metrics=[metric], start=start, end=end, filters=filters(meaning.get("where") or {}),
        group_by=[rank_by] if rank_by else [], order_by=metric if rank_by else None,
        descending=meaning.get("descending", True),
    )
    rows = engine.run(query).rows
    if rank_by:  # rank among the groups that have a value (an undefined ratio is no winner)
        rows = [r for r in rows if r[metric] is not None] or rows
    return rows[0][metric]


def main(path: Path) -> None:
    questions = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    catalog = load_catalog()
    engines = {}
    with tempfile.TemporaryDirectory() as tmp:
        out = []
        for q in questions:
            meaning = q["meaning"]
            if meaning["metric"] is None:
                expected = {"value": None, "unit": None}
            else:
                if q["data"] not in engines:
                    db = Path(tmp) / f"{q['data']}.duckdb"
                    import_paths(db, [DATA / q["data"]])
                    engines[q["data"]] = Engine.open(db)
                value = headline(engines[q["data"]], meaning)
                expected = {"value": value, "unit": catalog.get(meaning["metric"]).unit_name}
            out.append({"id": q["id"], "question": q["question"], "data": q["data"], "as_of": q["as_of"],
                        "expected": expected, "meaning": meaning, "kind": q["kind"]})
        for engine in engines.values():
            engine.close()
    path.write_text("".join(json.dumps(q) + "\n" for q in out))
    print(f"wrote expected values for {len(out)} questions to {path}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "paraphrases.jsonl")
