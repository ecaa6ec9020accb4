"""The HTTP/WebSocket gateway against gRPC and in-process generation.

One `gamegen serve --device cpu` process serves gRPC and the gateway on two loopback ports.

- Time to first event and end-to-end time (median and fastest of --n runs after a warm-up) for a
  200-column SMB level (tmj + png): the generator called in this process, the Python gRPC client
  (one warm channel) and the gateway through httpx (one warm keep-alive connection; each NDJSON
  line parsed with json.loads and each asset's base64 decoded, so every client ends with bytes),
  taking turns run by run; ratios are of medians, against in-process and gateway against gRPC.
- Bytes on the wire (TCP payload both ways, counted by a loopback proxy, one fresh connection per
  request) for the level and a 512 px PBR set (6 maps): gRPC, the gateway with inline base64
  assets (the default), and the gateway with `?assets=ref` plus one `GET /v1/assets/<sha256>` per
  asset as its event arrives (a second keep-alive connection, the stream still open on the first).
- Inline base64 against fetch-by-hash for the PBR set: end-to-end time, medians of --n.

    python benchmarks/gateway.py [--n 20]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clients import CountingProxy, once, wire_python  # noqa: E402  (the loopback byte counter, timer and gRPC byte count of the clients benchmark)

LEVEL = ("levels/smb", 11, {"width": 200}, ["tmj", "png"])
TEXTURE = ("textures/materials-gan", 3, {"size": 512},
           ["albedo", "height", "normal_gl", "normal_dx", "roughness", "ao"])


def start_server() -> tuple[subprocess.Popen, str, str]:
    proc = subprocess.Popen([sys.executable, "-m", "gamegen.server.cli", "serve", "--port", "0", "--http-port", "0",
                             "--device", "cpu"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))
    target = None
    for line in proc.stdout:
        m = re.search(r"serving on [\d.]+:(\d+)", line)
        if m:
            target = f"127.0.0.1:{m.group(1)}"
        m = re.search(r"gateway on (http://[\d.]+:\d+)", line)
        if m and target:
            return proc, target, m.group(1)
    raise RuntimeError("server did not start")


def body(case) -> dict:
    model, seed, params, formats = case
    kind = model.split("/", 1)[0]
    return {"model": model, "seed": str(seed), kind: params, "formats": formats}


def http_events(h, case, refs: bool = False):
    """Stream one Generate over the gateway; yield each event as a dict (asset bytes decoded)."""
    with h.stream("POST", "/v1/generate", json=body(case), params={"assets": "ref"} if refs else None) as r:
        r.raise_for_status()
        for line in r.iter_lines():
            ev = json.loads(line)
            if "error" in ev:
                raise RuntimeError(ev["error"])
            if "asset" in ev:
                a = ev["asset"]
                a["bytes"] = h.get(f"/v1/assets/{a['sha256']}").content if refs else base64.b64decode(a["data"])
            yield ev


def wire_http(http: str, case, refs: bool = False) -> tuple[int, int]:
    import httpx

    proxy = CountingProxy(http.removeprefix("http://"))
    with httpx.Client(base_url=f"http://{proxy.target}", timeout=60) as h:
        for _ in http_events(h, case, refs):
            pass
    return proxy.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=20, help="timed runs per client and request (after one warm-up)")
    args = ap.parse_args()

    import httpx

    from gamegen.client import Client
    from gamegen.generators.events import Asset
    from gamegen.server.registry import load_registry

    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n")
    registry = load_registry(device="cpu")
    server, target, http = start_server()
    try:
        with Client(target) as py, httpx.Client(base_url=http, timeout=60) as h:
            model, seed, params, formats = LEVEL
            gen = registry.resolve(model)
            clients = {
                "in-process": lambda: once(lambda: gen.generate(seed, params, formats)),
                "Python gRPC": lambda: once(lambda: py.generate(model, seed=seed, params=params, formats=formats)),
                "HTTP gateway (NDJSON)": lambda: once(lambda: http_events(h, LEVEL)),
            }
            # the same bytes through every path
            def assets(events):
                return {e["asset"]["name"]: e["asset"]["bytes"] for e in events if "asset" in e}
            assert assets(http_events(h, LEVEL)) == {e.name: e.data for e in py.generate(
                model, seed=seed, params=params, formats=formats) if isinstance(e, Asset)}
            for timed in clients.values():  # warm-up
                timed()
            rows = {name: ([], []) for name in clients}
            names = list(clients)
            for i in range(args.n):   # taking turns, the order rotating, so load falls on all alike
                for name in names[i % 3:] + names[:i % 3]:
                    first, end = clients[name]()
                    rows[name][0].append(first)
                    rows[name][1].append(end)
            print("| request | path | first event ms (median, min) | end to end ms (median, min) | "
                  "first event vs in-process | end to end vs in-process | end to end vs gRPC |")
            print("|---|---|---|---|---|---|---|")
            med = {name: (statistics.median(f), statistics.median(e)) for name, (f, e) in rows.items()}
            for name, (first, end) in rows.items():
                f, e = med[name]
                print(f"| SMB level, 200 columns (tmj+png) | {name} | {f:.1f}, {min(first):.1f} | {e:.1f}, {min(end):.1f} | "
                      f"{f / med['in-process'][0]:.2f}x | {e / med['in-process'][1]:.2f}x | "
                      f"{e / med['Python gRPC'][1]:.2f}x |")

            print()
            print("| request | asset bytes | path | bytes client->server | bytes server->client | overhead over assets |")
            print("|---|---|---|---|---|---|")
            for label, case in (("SMB level, 200 columns (tmj+png)", LEVEL), ("textures 512 px PBR set (6 maps)", TEXTURE)):
                m, s, p, f = case
                asset_bytes = sum(len(e.data) for e in registry.resolve(m).generate(s, p, f)
                                  if isinstance(e, Asset) and e.format != "preview")
                for name, fn in (("gRPC", lambda: wire_python(target, case)),
                                 ("gateway, inline base64", lambda: wire_http(http, case)),
                                 ("gateway, ?assets=ref + GET per asset", lambda: wire_http(http, case, refs=True))):
                    up, down = fn()
                    print(f"| {label} | {asset_bytes:,} | {name} | {up:,} | {down:,} | "
                          f"{(up + down - asset_bytes) / asset_bytes * 100:.1f}% |")

            print()
            print("| PBR set 512 px, 6 maps | end to end ms (median, min) | vs gRPC |")
            print("|---|---|---|")
            m, s, p, f = TEXTURE
            ways = {
                "gRPC": lambda: once(lambda: py.generate(m, seed=s, params=p, formats=f)),
                "gateway, inline base64": lambda: once(lambda: http_events(h, TEXTURE)),
                "gateway, ?assets=ref + GET per asset": lambda: once(lambda: http_events(h, TEXTURE, refs=True)),
            }
            for timed in ways.values():
                timed()
            times = {name: [] for name in ways}
            names = list(ways)
            for i in range(max(3, args.n // 2)):
                for name in names[i % 3:] + names[:i % 3]:
                    times[name].append(ways[name]()[1])
            base = statistics.median(times["gRPC"])
            for name, t in times.items():
                print(f"| {name} | {statistics.median(t):.1f}, {min(t):.1f} | {statistics.median(t) / base:.2f}x |")
        print(f"\nload average at end: {os.getloadavg()[0]:.1f}")
    finally:
        server.terminate()
        server.wait(15)


if __name__ == "__main__":
    main()
