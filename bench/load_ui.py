"""Load test of the chat app: N concurrent browser-like sessions (gradio_client), each asking a
few questions with follow-ups, against a local app on the acme data set. Reports errors (target:
none) and the median / p95 answer time."""

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from gradio_client import Client

from semantic_layer.store import import_paths

ROOT = Path(__file__).resolve().parents[1]
SHARED = next(p for p in (ROOT.parent / "shared", ROOT / "tests" / "data" / "shared") if (p / "data" / "acme").exists())
QUESTIONS = [
    "What is our MRR?",
    "What was expansion MRR last quarter?",
    "and the quarter before?",
    "break that down by segment",
    "How did we do last month?",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"the app did not start at {url}")


def session(url: str, times: list, errors: list) -> None:
    try:
        client = Client(url, verbose=False)
    except Exception as exc:  # noqa: BLE001 - every failure counts
        errors.append(f"connect: {exc}")
        return
    for question in QUESTIONS:
        start = time.perf_counter()
        try:
            reply = client.predict(question, api_name="/chat")
            text = "\n".join(m["content"] for m in reply if isinstance(m["content"], str))  # charts are dicts
            if "⚠" in text or "USD" not in text:
                errors.append(f"{question!r}: unexpected reply {text[:120]!r}")
        except Exception as exc:  # noqa: BLE001
            errors.append(f"{question!r}: {type(exc).__name__}: {exc}")
        times.append((time.perf_counter() - start) * 1000)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--data", type=Path, default=SHARED / "data" / "acme")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "load.duckdb"
        import_paths(db, [args.data])
        port = free_port()
        # The app runs in its own process, as users meet it; the load comes from this one.
        app = subprocess.Popen([Path(sys.executable).with_name("analyst"), "ui", "--db", str(db), "--port", str(port),
                                "--as-of", "2026-06-30"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}/"
        wait_until_up(url)
        times, errors = [], []
        threads = [threading.Thread(target=session, args=(url, times, errors)) for _ in range(args.sessions)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - started
        app.terminate()
        app.wait()
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * (len(ordered) - 1)))] if ordered else float("nan")
    print(f"{args.sessions} sessions x {len(QUESTIONS)} questions: {len(times)} answers in {wall:.1f} s, "
          f"{len(errors)} errors")
    print(f"answer time: median {statistics.median(times):.0f} ms, p95 {p95:.0f} ms, max {max(times):.0f} ms")
    for error in errors[:10]:
        print("  error:", error)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
