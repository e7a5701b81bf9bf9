"""Benchmark of the semantic layer on a synthetic company (a script, not a test).

    python bench/bench_semantic.py [--customers 100000] [--seed 7] [--repeat 20] [--ledger-repeat 5]

1. Generates the data set with `semantic_layer.synthetic` under bench/data/ (reused when a data set
   with the same parameters and the same generator source is already there).
2. Import: the whole `import_paths` (read + validate + store + ledger build) into a fresh database,
   then, separately, the read and validation steps alone to show where the import time goes.
3. Ledger build alone: `build_ledger(con, settings)` on the imported database, repeated; median.
4. Every catalog metric (and two groupings) for one year by month, each repeated: median and p95 of `Engine.run` (compile to
   SQL + rate check + execute + fetch; the engine checks a month's rates once) and of the SQL
   execution alone.
5. Peak memory: ru_maxrss of the process, the largest RSS seen in each phase, and DuckDB's own
   buffer-managed memory (duckdb_memory()) sampled during one extra, untimed ledger build.

Prints a table with pass/fail against the targets and writes bench/results-semantic.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import resource
import statistics
import sys
import threading
import time
from contextlib import contextmanager
from datetime import date, datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402

from semantic_layer import synthetic  # noqa: E402
from semantic_layer.catalog import load_catalog  # noqa: E402
from semantic_layer.compiler import MetricQuery  # noqa: E402
from semantic_layer.engine import Engine  # noqa: E402
from semantic_layer.ledger import build_ledger  # noqa: E402
from semantic_layer.reader import find_files, read_file  # noqa: E402

try:  # the importer's own file detection, where it exists
    from semantic_layer.sources import load_paths  # noqa: E402
except ImportError:  # pragma: no cover
    load_paths = None
from semantic_layer.store import import_paths, stored_settings  # noqa: E402
from semantic_layer.validate import Validator  # noqa: E402

BENCH = Path(__file__).resolve().parent
TARGETS = {"ledger_build_s": 5.0, "single_metric_median_ms": 100.0, "peak_memory_mb": 2048.0}
# The target holds for any single metric, so every metric of the catalog is timed.
SINGLE_METRICS = list(load_catalog().metrics)
GROUPED = [("mrr", "segment"), ("expansion_mrr", "plan")]
GEN_START, GEN_END = date(2023, 1, 1), date(2026, 6, 30)


# ---- measuring helpers -------------------------------------------------------------------------

def median(values: list[float]) -> float:
    return statistics.median(values)


def p95(values: list[float]) -> float:
    """Nearest-rank 95th percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def maxrss_mb() -> float:
    """Peak resident set size of this process so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _loadavg() -> list[float] | None:
    """Other work on the machine makes timings noisy; the load average says how busy it was."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _rss_mb() -> float | None:
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)
    except (OSError, ValueError):
        return None


class Sampler:
    """Samples the process RSS (and optionally DuckDB's memory) in a background thread."""

    def __init__(self, interval: float = 0.02, con: duckdb.DuckDBPyConnection | None = None):
        self.interval = interval
        self.cursor = con.cursor() if con is not None else None
        self.peak_rss = 0.0
        self.peak_duckdb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            rss = _rss_mb()
            if rss is not None:
                self.peak_rss = max(self.peak_rss, rss)
            if self.cursor is not None:
                try:
                    used = self.cursor.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchone()[0]
                    self.peak_duckdb = max(self.peak_duckdb, (used or 0) / (1024 * 1024))
                except duckdb.Error:
                    pass
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        if self.cursor is not None:
            self.cursor.close()


@contextmanager
def phase(report: dict, name: str):
    sampler = Sampler()
    with sampler:
        yield
    report.setdefault("memory_by_phase_mb", {})[name] = {
        "peak_rss_in_phase": round(sampler.peak_rss, 1), "ru_maxrss_after": round(maxrss_mb(), 1),
    }


# ---- steps -------------------------------------------------------------------------------------

def generator_fingerprint() -> str:
    return hashlib.sha256(Path(synthetic.__file__).read_bytes()).hexdigest()[:16]


def ensure_data(customers: int, seed: int, data_root: Path) -> tuple[Path, dict, bool, float | None]:
    """The data set folder; generated unless one with the same parameters is already there."""
    folder = data_root / f"synthetic-{customers}-seed{seed}"
    params = {"customers": customers, "seed": seed, "start": GEN_START.isoformat(), "end": GEN_END.isoformat(),
              "activity": synthetic.BENCH_ACTIVITY, "generator": generator_fingerprint()}
    marker = data_root / f"{folder.name}.params.json"  # beside the folder: the importer reads every file in it
    files = [folder / n for n in ("customers.csv", "subscriptions.csv", "fx_rates.csv")]
    if marker.exists() and all(f.exists() for f in files):
        stored = json.loads(marker.read_text())
        if stored.get("params") == params:
            return folder, stored["summary"], True, None
    started = time.perf_counter()
    summary = synthetic.generate(folder, customers=customers, seed=seed, start=GEN_START, end=GEN_END,
                                 activity=synthetic.BENCH_ACTIVITY)
    elapsed = time.perf_counter() - started
    marker.write_text(json.dumps({"params": params, "summary": summary}, indent=2))
    return folder, summary, False, elapsed


def bench_import(folder: Path, db: Path) -> dict:
    for path in (db, db.with_name(db.name + ".wal")):
        if path.exists():
            path.unlink()
    started = time.perf_counter()
    summary = import_paths(db, [folder])
    total = time.perf_counter() - started

    # Where the time goes: read and validation alone (the rest is storing the tables, the
    # ledger build and the commit).
    started = time.perf_counter()
    if load_paths is not None:
        raws = load_paths([folder]).raws
    else:
        raws = [read_file(kind, path) for kind, path in find_files([folder]).items()]
    read_s = time.perf_counter() - started
    con = duckdb.connect()
    for raw in raws:
        con.register(f"raw_{raw.kind}", raw.table)
    started = time.perf_counter()
    problems = Validator(con, {raw.kind: raw.columns for raw in raws}, "USD").run()
    validate_s = time.perf_counter() - started
    con.close()
    del raws
    if problems:
        raise SystemExit(f"validation found {len(problems)} problems, e.g. {problems[0]}")
    return {
        "import_paths_s": total,
        "read_s": read_s,
        "validate_s": validate_s,
        "store_ledger_commit_s": max(0.0, total - read_s - validate_s),
        "customers": summary.customers,
        "subscription_rows": summary.subscription_rows,
    }


def bench_ledger(db: Path, repeat: int) -> dict:
    con = duckdb.connect(str(db))
    try:
        settings = stored_settings(con)
        times, commits = [], []
        for _ in range(repeat):
            con.begin()
            started = time.perf_counter()
            build_ledger(con, settings)
            built = time.perf_counter()
            con.commit()
            times.append(built - started)
            commits.append(time.perf_counter() - built)
        # One more build, untimed, with DuckDB's own memory sampled alongside.
        with Sampler(interval=0.05, con=con) as sampler:
            con.begin()
            build_ledger(con, settings)
            con.commit()
        counts = dict(con.execute(
            "SELECT 'ledger_items', count(*) FROM ledger_items UNION ALL SELECT 'change_points', count(*) FROM change_points "
            "UNION ALL SELECT 'movements', count(*) FROM movements UNION ALL SELECT 'customer_mrr', count(*) FROM customer_mrr"
        ).fetchall())
        return {
            "runs_s": times, "median_s": median(times), "p95_s": p95(times), "min_s": min(times),
            "commit_median_s": median(commits), "duckdb_peak_memory_mb": round(sampler.peak_duckdb, 1),
            "rows": counts,
        }
    finally:
        con.close()


def _timed(fn, repeat: int) -> list[float]:
    fn()  # warm-up, not counted
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def bench_queries(db: Path, year: int, repeat: int) -> list[dict]:
    engine = Engine.open(db)
    try:
        start, end = date(year, 1, 1), date(year, 12, 31)
        cases = [(m, []) for m in SINGLE_METRICS] + [(m, [g]) for m, g in GROUPED]
        results = []
        for metric, group_by in cases:
            query = MetricQuery(metrics=[metric], start=start, end=end, grain="month", group_by=group_by)
            # Engine.run executes the compact SQL; pretty-printing is only for showing it.
            sql = engine.compile(query).text(pretty=False)
            compile_ = _timed(lambda: engine.compile(query).text(pretty=False), repeat)
            run = _timed(lambda: engine.run(query), repeat)
            execute = _timed(lambda: engine.con.execute(sql).fetchall(), repeat)
            rows = engine.run(query).rows
            results.append({
                "name": metric + (f" by {group_by[0]}" if group_by else ""),
                "metric": metric, "group_by": group_by, "single_metric": not group_by,
                "rows": len(rows),
                "median_ms": median(run), "p95_ms": p95(run),
                "sql_median_ms": median(execute), "sql_p95_ms": p95(execute),
                "compile_median_ms": median(compile_),
            })
        return results
    finally:
        engine.close()


# ---- report ------------------------------------------------------------------------------------

def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def print_report(report: dict) -> None:
    data, imp, led = report["data"], report["import"], report["ledger"]
    env = report["environment"]
    print()
    print(f"Semantic layer benchmark — {data['customers']:,} customers, {data['subscription_rows']:,} subscription rows "
          f"({data['first_date']} .. {data['last_date']})")
    print(f"python {env['python']}, duckdb {env['duckdb']} ({env['duckdb_threads']} threads), {env['cpus']} CPUs, "
          f"{env['platform']}")
    gen = data.get("generate_s")
    print(f"data set: {data['folder']} ({'reused' if data['reused'] else f'generated in {gen:.1f} s'}); "
          f"load average at start {env['load_average_at_start']}, at end {env['load_average_at_end']}")
    print()
    print(f"{'step':<44}{'median':>12}{'p95':>12}{'target':>12}  result")
    print("-" * 88)
    print(f"{'import_paths (read+validate+store+ledger)':<44}{imp['import_paths_s']:>10.2f} s{'':>12}{'':>12}")
    print(f"{'  of which: read CSV':<44}{imp['read_s']:>10.2f} s")
    print(f"{'  of which: validate':<44}{imp['validate_s']:>10.2f} s")
    print(f"{'  of which: store + ledger + commit':<44}{imp['store_ledger_commit_s']:>10.2f} s")
    target = TARGETS["ledger_build_s"]
    print(f"{'ledger build alone (x' + str(len(led['runs_s'])) + ')':<44}{led['median_s']:>10.2f} s{led['p95_s']:>10.2f} s"
          f"{'<= ' + format(target, '.0f') + ' s':>12}  {verdict(led['median_s'] <= target)}")
    print(f"{'  commit after the build':<44}{led['commit_median_s']:>10.2f} s")
    print()
    print(f"queries: {report['query_period']} by month, x{report['repeat']} each "
          f"(median and p95 of Engine.run; [compile | SQL execution alone] medians in brackets)")
    target = TARGETS["single_metric_median_ms"]
    for q in report["queries"]:
        tail = f"{'<= ' + format(target, '.0f') + ' ms':>12}  {verdict(q['median_ms'] <= target)}" if q["single_metric"] else ""
        inner = f"[{q['compile_median_ms']:.1f} | {q['sql_median_ms']:.1f}]"
        print(f"{'  ' + q['name']:<26}{inner:>18}{q['median_ms']:>9.1f} ms"
              f"{q['p95_ms']:>9.1f} ms{tail}")
    print()
    mem = report["memory"]
    target = TARGETS["peak_memory_mb"]
    print(f"{'peak memory (ru_maxrss, whole process)':<44}{mem['ru_maxrss_mb']:>9.0f} MB{'':>12}"
          f"{'<= ' + format(target / 1024, '.0f') + ' GB':>12}  {verdict(mem['ru_maxrss_mb'] <= target)}")
    for name, values in mem["by_phase"].items():
        print(f"{'  peak RSS during ' + name:<44}{values['peak_rss_in_phase']:>9.0f} MB")
    print(f"{'  DuckDB memory during a ledger build':<44}{led['duckdb_peak_memory_mb']:>9.0f} MB")
    print()
    s = report["summary"]
    print(f"targets: ledger {verdict(s['ledger_ok'])}, single-metric queries {verdict(s['queries_ok'])} "
          f"(slowest {s['slowest_single_metric']} {s['slowest_single_metric_ms']:.1f} ms), memory {verdict(s['memory_ok'])}")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=20, help="runs per query (after one warm-up)")
    parser.add_argument("--ledger-repeat", type=int, default=5)
    parser.add_argument("--year", type=int, default=2025, help="the year the queries cover, by month")
    parser.add_argument("--data-dir", type=Path, default=BENCH / "data")
    parser.add_argument("--output", type=Path, default=BENCH / "results-semantic.json")
    parser.add_argument("--keep-db", action="store_true", help="keep the benchmark database (several hundred MB)")
    args = parser.parse_args(argv)

    report: dict = {"started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "targets": TARGETS}
    probe = duckdb.connect()
    report["environment"] = {
        "python": platform.python_version(), "duckdb": duckdb.__version__, "platform": platform.platform(),
        "cpus": os.cpu_count(), "duckdb_threads": probe.execute("SELECT current_setting('threads')").fetchone()[0],
        "load_average_at_start": _loadavg(),
    }
    probe.close()

    with phase(report, "generate"):
        folder, summary, reused, gen_s = ensure_data(args.customers, args.seed, args.data_dir)
    report["data"] = {**summary, "folder": str(folder), "reused": reused, "generate_s": gen_s}
    db = folder.with_suffix(".duckdb")
    print(f"data: {folder} ({'reused' if reused else f'generated in {gen_s:.1f} s'}); importing ...", flush=True)

    with phase(report, "import"):
        report["import"] = bench_import(folder, db)
    print(f"import_paths: {report['import']['import_paths_s']:.2f} s; ledger builds ...", flush=True)
    with phase(report, "ledger"):
        report["ledger"] = bench_ledger(db, args.ledger_repeat)
    print(f"ledger build median: {report['ledger']['median_s']:.2f} s; queries ...", flush=True)
    with phase(report, "queries"):
        report["queries"] = bench_queries(db, args.year, args.repeat)
    report["query_period"] = f"{args.year}-01-01 .. {args.year}-12-31"
    report["repeat"] = args.repeat

    report["environment"]["load_average_at_end"] = _loadavg()
    if not args.keep_db:
        for path in (db, db.with_name(db.name + ".wal")):
            if path.exists():
                path.unlink()
    by_phase = report.pop("memory_by_phase_mb")
    report["memory"] = {"ru_maxrss_mb": round(maxrss_mb(), 1), "by_phase": by_phase}
    singles = [q for q in report["queries"] if q["single_metric"]]
    slowest = max(singles, key=lambda q: q["median_ms"])
    report["summary"] = {
        "ledger_ok": report["ledger"]["median_s"] <= TARGETS["ledger_build_s"],
        "queries_ok": all(q["median_ms"] <= TARGETS["single_metric_median_ms"] for q in singles),
        "memory_ok": report["memory"]["ru_maxrss_mb"] <= TARGETS["peak_memory_mb"],
        "slowest_single_metric": slowest["name"], "slowest_single_metric_ms": slowest["median_ms"],
        "failing_queries": [q["name"] for q in singles if q["median_ms"] > TARGETS["single_metric_median_ms"]],
    }
    print_report(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"\nwrote {args.output}")
    return report


if __name__ == "__main__":
    main()
