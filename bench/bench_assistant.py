"""Time per question of the offline assistant on the acme data set (process start excluded).

Runs every question of shared/questions/dev.jsonl (and tests/data/paraphrases.jsonl and the held-out
rounds in tests/data/heldout/) several
times through Analyst.ask and prints the median and p95 latency against the targets
(median <= 150 ms, p95 <= 400 ms), plus how many answers carried the expected value.
"""

import argparse
import json
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

from assistant.agent import Analyst, Backend
from semantic_layer.engine import Engine
from semantic_layer.store import import_paths

ROOT = Path(__file__).resolve().parents[1]
SHARED = next(p for p in (ROOT.parent / "shared", ROOT / "tests" / "data" / "shared") if (p / "data" / "acme").exists())


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def correct(expected: dict, value) -> bool:
    want = expected["value"]
    if want is None or value is None:
        return want is None and value is None
    return abs(value - want) <= {"%": 0.05, "customers": 0}.get(expected["unit"], 0.01) + 1e-9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data", type=Path, default=SHARED / "data" / "acme")
    args = parser.parse_args()
    sets = [SHARED / "questions" / "dev.jsonl", ROOT / "tests" / "data" / "paraphrases.jsonl",
            *sorted((ROOT / "tests" / "data" / "heldout").glob("round*.jsonl"))]
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "bench.duckdb"
        import_paths(db, [args.data])
        engine = Engine.open(db)
        analyst = Analyst(engine, as_of=date(2026, 6, 30), backend=Backend("offline"))
        analyst.ask("What is our MRR?")  # warm up: first-use imports and caches
        results = {}
        for path in sets:
            questions = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
            times, right = [], 0
            for q in questions:
                for _ in range(args.repeat):
                    start = time.perf_counter()
                    answer = analyst.ask(q["question"])
                    times.append((time.perf_counter() - start) * 1000)
                right += correct(q["expected"], answer.value)
            results[path.name] = {
                "questions": len(questions), "correct": right,
                "median_ms": statistics.median(times), "p95_ms": percentile(times, 95), "max_ms": max(times),
            }
        engine.close()
    print(f"{'question set':24} {'questions':>9} {'correct':>8} {'median ms':>10} {'p95 ms':>8} {'max ms':>8}")
    for name, r in results.items():
        print(f"{name:24} {r['questions']:>9} {r['correct']:>8} {r['median_ms']:>10.1f} {r['p95_ms']:>8.1f} {r['max_ms']:>8.1f}")
    worst_median = max(r["median_ms"] for r in results.values())
    worst_p95 = max(r["p95_ms"] for r in results.values())
    print(f"targets: median <= 150 ms ({'pass' if worst_median <= 150 else 'FAIL'}), "
          f"p95 <= 400 ms ({'pass' if worst_p95 <= 400 else 'FAIL'})")
    (ROOT / "bench" / "results-assistant.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
