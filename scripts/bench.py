#!/usr/bin/env python3
"""Benchmarks of authing-wechat against bare httpx, measured in one run.

Figures, not timed tests: every comparison is a ratio of two things measured side by side in
interleaved rounds on this machine, against the reference mock server on loopback (in its own
process, so the client's CPU time is not shared with the server's).

    python scripts/bench.py [--json PATH] [--quick]

Targets (exit status 1 if the per-call ratio misses its bound):
- per call, median and p99: ``get_wechat_mp_access_token_info`` / bare keep-alive
  ``httpx.Client`` POST of the same body (reading the JSON too): median at most 1.25, p99
  at most 1.5 (every call goes through ``httpx.Client.send`` as the bare one does; what is
  left over it is what the promises cost: bounds, classification, redaction);
- async, 100 concurrent callers: calls per second against bare ``httpx.AsyncClient``;
- a cached ``provider.get()`` in ns/op; 1,000 concurrent getters make 1 upstream request;
- a FRESH ``get()`` in ns/op with the OpenTelemetry API importable (no SDK: its no-op
  instruments) and without it, in fresh interpreters, interleaved: the ratio aims at 1.0;
- ``from authing_wechat import WechatTokenClient`` against ``import httpx`` in a fresh
  interpreter of a venv holding only the runtime dependencies (no httpx CLI extras): at most
  1.25x (``import authing_wechat`` alone loads nothing until used).

It also reports the mock server's CPU time per request (Linux): a slow server flatters every
client measured against it, since its cost is added to both sides of the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import _bench_provider  # scripts/ is on sys.path when this script runs
import httpx
from authing_wechat import AsyncWechatTokenClient, WechatTokenClient
from authing_wechat.testing import SUCCESSOR_PATH, run_mock_server

ROOT = Path(__file__).resolve().parent.parent
APP_ID, APP_SECRET, AUTHING_APP_ID = "wx-bench", "bench-secret", "bench-app"
# The median is the budget; p99 is noisier, on both sides.
PER_CALL_BOUNDS, IMPORT_AIM = {"median": 1.25, "p99": 1.5}, 1.25


@contextmanager
def mock_server_process() -> Iterator[tuple[str, int]]:
    """Start ``authing-wechat mock-server`` on a free loopback port; stop it by PID.

    Yields:
        Its URL and PID.
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "authing_wechat", "mock-server", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline() if proc.stdout is not None else ""
        match = re.search(r"http://127\.0\.0\.1:\d+", line)
        if match is None:
            raise RuntimeError(f"mock server did not print its URL: {line!r}")
        yield match.group(0), proc.pid
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of process ``pid`` so far, or ``None`` off Linux."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def per_call(url: str, server_pid: int, rounds: int, calls: int) -> dict[str, Any]:
    """Interleaved rounds of the client and of bare httpx, each on its own keep-alive pool."""
    client = WechatTokenClient(url, AUTHING_APP_ID)
    bare = httpx.Client()
    body = {"appId": APP_ID, "appSecret": APP_SECRET}
    headers = {"x-authing-app-id": AUTHING_APP_ID}
    target = url + SUCCESSOR_PATH

    def ours() -> None:
        client.get_wechat_mp_access_token_info(app_id=APP_ID, app_secret=APP_SECRET)

    def theirs() -> None:
        bare.post(target, json=body, headers=headers).json()

    samples: dict[str, list[float]] = {"client": [], "httpx": []}
    for fn in (ours, theirs):  # warm both pools and code paths
        for _ in range(50):
            fn()
    server_cpu_before = cpu_seconds(server_pid)
    for round_no in range(rounds):
        order = [("client", ours), ("httpx", theirs)]
        if round_no % 2:
            order.reverse()
        for name, fn in order:
            bucket = samples[name]
            for _ in range(calls):
                start = time.perf_counter()
                fn()
                bucket.append(time.perf_counter() - start)
    server_cpu_after = cpu_seconds(server_pid)
    client.close()
    bare.close()
    result: dict[str, Any] = {"server_cpu_us": None}
    if server_cpu_before is not None and server_cpu_after is not None:
        requests = 2 * rounds * calls
        result["server_cpu_us"] = (server_cpu_after - server_cpu_before) / requests * 1e6
    for name, values in samples.items():
        result[f"{name}_median_us"] = statistics.median(values) * 1e6
        result[f"{name}_p99_us"] = percentile(values, 0.99) * 1e6
    result["median_ratio"] = result["client_median_us"] / result["httpx_median_us"]
    result["p99_ratio"] = result["client_p99_us"] / result["httpx_p99_us"]
    return result


async def _throughput(call: Callable[[], Any], total: int, concurrency: int) -> float:
    remaining = total

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await call()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return total / (time.perf_counter() - start)


def concurrent_async(url: str, rounds: int, total: int) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        client = AsyncWechatTokenClient(url, AUTHING_APP_ID)
        bare = httpx.AsyncClient()  # httpx's default pool: 100 connections, 20 kept alive
        body = {"appId": APP_ID, "appSecret": APP_SECRET}
        headers = {"x-authing-app-id": AUTHING_APP_ID}

        async def ours() -> None:
            await client.get_wechat_mp_access_token_info(app_id=APP_ID, app_secret=APP_SECRET)

        async def theirs() -> None:
            (await bare.post(url + SUCCESSOR_PATH, json=body, headers=headers)).json()

        rates: dict[str, list[float]] = {"client": [], "httpx": []}
        await _throughput(ours, 200, 100)
        await _throughput(theirs, 200, 100)
        for round_no in range(rounds):
            order = [("client", ours), ("httpx", theirs)]
            if round_no % 2:
                order.reverse()
            for name, fn in order:
                rates[name].append(await _throughput(fn, total, 100))
        await client.aclose()
        await bare.aclose()
        client_rate = statistics.median(rates["client"])
        httpx_rate = statistics.median(rates["httpx"])
        return {
            "client_calls_per_s": client_rate,
            "httpx_calls_per_s": httpx_rate,
            "throughput_ratio": client_rate / httpx_rate,
        }

    return asyncio.run(run())


def provider_figures(getters: int) -> dict[str, Any]:
    """Cached get() cost, and how many upstream requests concurrent getters make."""
    with run_mock_server() as handle:
        with WechatTokenClient(handle.url, AUTHING_APP_ID) as client:
            provider = client.token_provider(app_id=APP_ID, app_secret=APP_SECRET)
            barrier = threading.Barrier(min(getters, 200))

            def get() -> None:
                barrier.wait()
                provider.get()

            threads = [threading.Thread(target=get) for _ in range(min(getters, 200))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            thread_requests = handle.server.request_count()
            loops = 1_000_000
            start = time.perf_counter()
            for _ in range(loops):
                provider.get()
            cached_ns = (time.perf_counter() - start) / loops * 1e9
        handle.server.reset()

        async def tasks() -> int:
            async with AsyncWechatTokenClient(handle.url, AUTHING_APP_ID) as client:
                provider = client.token_provider(app_id=APP_ID, app_secret=APP_SECRET)
                await asyncio.gather(*(provider.get() for _ in range(getters)))
            return handle.server.request_count()

        task_requests = asyncio.run(tasks())
    return {
        "cached_get_ns": cached_ns,
        "threads": min(getters, 200),
        "thread_upstream_requests": thread_requests,
        "tasks": getters,
        "task_upstream_requests": task_requests,
    }


# A FRESH get() in a fresh interpreter: ns/op of the best of a few timings of 200,000 calls.
_FRESH_PROBE = """
import sys, time
if sys.argv[1] == "without":
    sys.modules["opentelemetry"] = None  # the API not installed
from datetime import UTC, datetime, timedelta
from authing_wechat import WechatAccessToken, WechatTokenProvider
from authing_wechat._core._clock import SystemClock
from authing_wechat._provider._metrics import current_metrics
from authing_wechat._provider._refresh import RefreshTiming

def fetch():
    return WechatAccessToken(access_token="t", expires_at=datetime.now(UTC) + timedelta(hours=2))

provider = WechatTokenProvider(fetch, app_id="wx1", timing=RefreshTiming(), clock=SystemClock())
provider.get()
best = float("inf")
for _ in range(5):
    start = time.perf_counter()
    for _ in range(200_000):
        provider.get()
    best = min(best, (time.perf_counter() - start) / 200_000 * 1e9)
print(type(current_metrics()).__name__, best)
"""


def otel_fresh_figures(rounds: int) -> dict[str, Any]:
    """FRESH ``get()`` ns/op with the OpenTelemetry API (no SDK) and without it, interleaved."""
    samples: dict[str, list[float]] = {"with": [], "without": []}
    for _ in range(rounds):
        for condition in ("with", "without"):
            out = subprocess.run(
                [sys.executable, "-c", _FRESH_PROBE, condition],
                capture_output=True, text=True, check=True,
            ).stdout.split()  # fmt: skip
            expected = "OtelMetrics" if condition == "with" else "Metrics"
            if out[0] != expected:
                raise RuntimeError(f"{condition} the API, the provider recorded to {out[0]}")
            samples[condition].append(float(out[1]))
    with_api, without = statistics.median(samples["with"]), statistics.median(samples["without"])
    return {"with_api_ns": with_api, "without_api_ns": without, "ratio": with_api / without}


@contextmanager
def runtime_only_python() -> Iterator[Path]:
    """A throwaway venv holding only the runtime dependencies (``requirements/runtime.lock``),
    bytecode compiled, with this checkout's packages on ``PYTHONPATH``.

    The dev venv is no place to time imports: there httpx finds the packages of its CLI extra
    (click, rich, pygments, installed for the dev tools) and imports them, which makes bare
    httpx slower and flatters every ratio against it.
    """
    import tempfile

    uv = Path(sys.executable).with_name("uv")
    with tempfile.TemporaryDirectory(prefix="authing-wechat-bench-") as tmp:
        venv = Path(tmp) / "venv"
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
        python = venv / "bin" / "python"
        lock = ROOT / "requirements" / "runtime.lock"
        subprocess.run(
            [str(uv), "pip", "install", "--quiet", "--python", str(python), "--require-hashes",
             "--compile-bytecode", "-r", str(lock)],
            check=True,
        )  # fmt: skip
        for tree in ("generated", "overlays"):
            subprocess.run([str(python), "-m", "compileall", "-q", str(ROOT / tree)], check=True)
        yield python


def import_times(runs: int) -> dict[str, Any]:
    code = "import time; t = time.perf_counter(); {}; print(time.perf_counter() - t)"
    statements = {
        "authing_wechat": "from authing_wechat import WechatTokenClient",
        "httpx": "import httpx",
    }
    times: dict[str, list[float]] = {name: [] for name in statements}
    with runtime_only_python() as python:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(str(ROOT / tree) for tree in ("generated", "overlays")),
        }
        check_extras = "import httpx, sys; print(sorted({'click', 'rich'} & set(sys.modules)))"
        extras = subprocess.run(
            [str(python), "-c", check_extras],
            capture_output=True, text=True, check=True, env=env,
        ).stdout.strip()  # fmt: skip
        for _ in range(runs):  # interleaved, so that load on the machine hits both alike
            for name, samples in times.items():
                out = subprocess.run(
                    [str(python), "-c", code.format(statements[name])],
                    capture_output=True,
                    text=True,
                    check=True,
                    env=env,
                )
                samples.append(float(out.stdout))
    ours = statistics.median(times["authing_wechat"]) * 1e3
    theirs = statistics.median(times["httpx"]) * 1e3
    return {
        "authing_wechat_ms": ours,
        "httpx_ms": theirs,
        "import_ratio": ours / theirs,
        "httpx_cli_modules": extras,
    }


def table(results: dict[str, Any]) -> str:
    pc, ac, pv, im = results["per_call"], results["async"], results["provider"], results["import"]
    server_cpu = "-" if pc["server_cpu_us"] is None else f"{pc['server_cpu_us']:.0f} µs"
    rows = [
        ("per call, median", f"{pc['client_median_us']:.0f} µs", f"{pc['httpx_median_us']:.0f} µs",
         f"{pc['median_ratio']:.2f}x", f"<= {PER_CALL_BOUNDS['median']}"),
        ("per call, p99", f"{pc['client_p99_us']:.0f} µs", f"{pc['httpx_p99_us']:.0f} µs",
         f"{pc['p99_ratio']:.2f}x", f"<= {PER_CALL_BOUNDS['p99']}"),
        ("mock server CPU per request", server_cpu, "-", "-", "well below a call"),
        ("async, 100 callers", f"{ac['client_calls_per_s']:.0f} calls/s",
         f"{ac['httpx_calls_per_s']:.0f} calls/s", f"{ac['throughput_ratio']:.2f}x",
         "higher is better"),
        ("cached provider.get()", f"{pv['cached_get_ns']:.0f} ns", "-", "-", "a few µs at most"),
        (f"{pv['tasks']} concurrent getters (tasks)", f"{pv['task_upstream_requests']} request(s)",
         "-", "-", "1"),
        (f"{pv['threads']} concurrent getters (threads)",
         f"{pv['thread_upstream_requests']} request(s)", "-", "-", "1"),
        ("FRESH get(), OTel API without SDK", f"{results['otel']['with_api_ns']:.0f} ns",
         f"{results['otel']['without_api_ns']:.0f} ns (no API)", f"{results['otel']['ratio']:.2f}x",
         "about 1.0"),
        ("import the client", f"{im['authing_wechat_ms']:.1f} ms", f"{im['httpx_ms']:.1f} ms",
         f"{im['import_ratio']:.2f}x", f"aim <= {IMPORT_AIM}"),
    ]  # fmt: skip
    header = ("measure", "authing-wechat", "bare httpx", "ratio", "target")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    lines += [
        "| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
        for row in rows
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=ROOT / "bench-results.json")
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")
    parser.add_argument(
        "--import-only", action="store_true", help="only the import figures (about 10 s)"
    )
    parser.add_argument(
        "--otel-only", action="store_true", help="only the OpenTelemetry figures (about 10 s)"
    )
    args = parser.parse_args(argv)
    if args.otel_only:
        print(json.dumps(otel_fresh_figures(3 if args.quick else 7), indent=2))
        return 0
    if args.import_only:
        im = import_times(5 if args.quick else 15)
        print(json.dumps(im, indent=2))
        return 1 if im["import_ratio"] > IMPORT_AIM else 0
    rounds, calls = (4, 100) if args.quick else (12, 300)
    with mock_server_process() as (url, pid):
        results: dict[str, Any] = {
            "per_call": per_call(url, pid, rounds, calls),
            "async": concurrent_async(url, 3 if args.quick else 5, 1000 if args.quick else 3000),
        }
    results["provider"] = provider_figures(1000)
    results["provider_refresh"] = _bench_provider.run(quick=args.quick)
    results["otel"] = otel_fresh_figures(3 if args.quick else 7)
    results["import"] = import_times(5 if args.quick else 15)
    results["machine"] = {"python": sys.version.split()[0], "cpus": os.cpu_count()}
    print(table(results))
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {args.json}")
    pc = results["per_call"]
    failures = [
        f"per-call {kind} ratio {pc[f'{kind}_ratio']:.2f} exceeds {bound}"
        for kind, bound in PER_CALL_BOUNDS.items()
        if pc[f"{kind}_ratio"] > bound
    ]
    if results["import"]["import_ratio"] > IMPORT_AIM:
        failures.append(
            f"import ratio {results['import']['import_ratio']:.2f} exceeds {IMPORT_AIM}"
        )
    pv = results["provider"]
    if pv["task_upstream_requests"] != 1 or pv["thread_upstream_requests"] != 1:
        failures.append("concurrent getters made more than one upstream request")
    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
