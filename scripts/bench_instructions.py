#!/usr/bin/env python3
"""The client side's CPU per sync call, in instructions: this client against bare httpx.

Wall-clock ratios on a small shared machine move by a fifth from run to run; an instruction
count does not, so it is the figure to compare a change by. Each side runs in its own
interpreter under ``valgrind --tool=callgrind`` (a Debian package, not a Python one), making
``few`` and then ``many`` calls to the mock server in its own process; the difference over
``many - few`` calls is the cost of one call, start-up and warm-up taken out.

    python scripts/bench_instructions.py [--few 50] [--many 450]

The bare side is a keep-alive ``httpx.Client`` POST of the same body with its JSON read, as in
``bench.py``. To see what a part of the client costs, take it out in a scratch copy and count
again: that is how the costs in docs/maintainers/benchmarks.md were found.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys

from bench import APP_ID, APP_SECRET, AUTHING_APP_ID, mock_server_process  # scripts/ is on sys.path

# One side's calls, run by the interpreter under valgrind: argv is side, URL, count.
_CALLS = f"""
import sys
import httpx
from authing_wechat import WechatTokenClient

side, url, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
if side == "client":
    client = WechatTokenClient(url, {AUTHING_APP_ID!r})
    def call():
        client.get_wechat_mp_access_token_info(app_id={APP_ID!r}, app_secret={APP_SECRET!r})
else:
    bare = httpx.Client()
    body = {{"appId": {APP_ID!r}, "appSecret": {APP_SECRET!r}}}
    headers = {{"x-authing-app-id": {AUTHING_APP_ID!r}}}
    def call():
        bare.post(url + "/api/v3/get-wechat-access-token-info", json=body, headers=headers).json()
for _ in range(count):
    call()
"""


def instructions(valgrind: str, side: str, url: str, count: int) -> int:
    """Instructions valgrind counted for ``count`` calls of ``side``, start-up included."""
    env = {**os.environ, "PYTHONHASHSEED": "0"}  # the same dict layouts in every run
    result = subprocess.run(
        [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null",
         sys.executable, "-c", _CALLS, side, url, str(count)],
        capture_output=True, text=True, env=env, check=True, timeout=1800,
    )  # fmt: skip
    match = re.search(r"Collected : (\d+)", result.stderr)
    if match is None:
        raise RuntimeError(f"valgrind printed no count:\n{result.stderr[-2000:]}")
    return int(match.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--few", type=int, default=50)
    parser.add_argument("--many", type=int, default=450)
    args = parser.parse_args()
    if args.many <= args.few:
        parser.error("--many must be more than --few")
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        print("valgrind is not installed (Debian: apt install valgrind)", file=sys.stderr)
        return 2
    per_call = {}
    with mock_server_process() as (url, _pid):
        for side in ("client", "httpx"):
            many = instructions(valgrind, side, url, args.many)
            spent = many - instructions(valgrind, side, url, args.few)
            per_call[side] = spent / (args.many - args.few)
    ratio = per_call["client"] / per_call["httpx"]
    print(f"authing-wechat {per_call['client'] / 1e6:.3f} M instructions per call")
    print(f"bare httpx     {per_call['httpx'] / 1e6:.3f} M instructions per call")
    print(f"ratio          {ratio:.3f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
