#!/usr/bin/env python3
"""Fault-injecting MCP test server for jetstress's engine tests and benchmarks.

Speaks newline-delimited JSON-RPC 2.0 over stdio (the MCP stdio transport):
initialize, notifications/initialized, ping, tools/list, tools/call.

Tools:
  delay  {ms}          sleep ms milliseconds, then answer (ms=0: answer at once)
  flaky  {error_rate}  answer isError:true with probability error_rate (0..1)
  rpcfail {}           answer a JSON-RPC error (-32000)
  hang   {}            never answer (a client's notifications/cancelled is logged to stderr)

With --flawed the server lists these instead (one per outcome of `jetstress check`):
  strict    {n: integer 1..10}  validates its arguments: isError for anything its schema forbids
  lax       {n: integer 1..10}  never validates: a normal result for anything
  hang      {}                  never answers
  crash     {}                  writes to stderr and exits(3)
  noise     {}                  writes a line that is not JSON to stdout, then answers
  wrongid   {}                  answers with an id that was never sent
  malformed {}                  answers a result that is not an object

Switches (argv or env):
  --exit-after N                  exit(3) after N tools/call requests (env FAULT_EXIT_AFTER)
  --stall-every S --stall-ms M    every S seconds, hold every reply for M ms
                                  (env FAULT_STALL_EVERY, FAULT_STALL_MS)
  --name NAME                     serverInfo.name (default "fault-server")
  --flawed                        list the flawed tools above
  --garbage                       write a non-JSON line to stdout before every message
  --bad-list                      answer tools/list with a result that is not a tool list
"""
import argparse
import asyncio
import json
import os
import random
import sys
import time

TOOLS = [
    {"name": "delay", "description": "sleep ms milliseconds",
     "inputSchema": {"type": "object", "properties": {"ms": {"type": "integer", "default": 0}}}},
    {"name": "flaky", "description": "fail with probability error_rate",
     "inputSchema": {"type": "object", "properties": {"error_rate": {"type": "number", "default": 0.5}}}},
    {"name": "rpcfail", "description": "answer a JSON-RPC error",
     "inputSchema": {"type": "object", "properties": {}}},
    {"name": "hang", "description": "never answer",
     "inputSchema": {"type": "object", "properties": {}}},
]

N_SCHEMA = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 1, "maximum": 10}},
            "required": ["n"], "additionalProperties": False}
EMPTY = {"type": "object", "properties": {}}
FLAWED = [
    {"name": "strict", "description": "validates n", "inputSchema": N_SCHEMA},
    {"name": "lax", "description": "does not validate n", "inputSchema": N_SCHEMA},
    {"name": "hang", "description": "never answers", "inputSchema": EMPTY},
    {"name": "crash", "description": "exits", "inputSchema": EMPTY},
    {"name": "noise", "description": "noise on stdout", "inputSchema": EMPTY},
    {"name": "wrongid", "description": "answers the wrong id", "inputSchema": EMPTY},
    {"name": "malformed", "description": "answers a malformed result", "inputSchema": EMPTY},
]


def strict_error(a):
    """Why `a` breaks N_SCHEMA, or None."""
    if not isinstance(a, dict):
        return "arguments must be an object"
    if "n" not in a:
        return "n is required"
    extra = set(a) - {"n"}
    if extra:
        return f"unknown argument(s) {sorted(extra)}"
    n = a["n"]
    if isinstance(n, bool) or not isinstance(n, int):
        return "n must be an integer"
    if not 1 <= n <= 10:
        return "n must be within 1..10"
    return None


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--exit-after", type=int, default=int(os.environ.get("FAULT_EXIT_AFTER", "0")))
    p.add_argument("--stall-every", type=float, default=float(os.environ.get("FAULT_STALL_EVERY", "0")))
    p.add_argument("--stall-ms", type=float, default=float(os.environ.get("FAULT_STALL_MS", "0")))
    p.add_argument("--name", default="fault-server")
    p.add_argument("--flawed", action="store_true")
    p.add_argument("--garbage", action="store_true")
    p.add_argument("--bad-list", action="store_true")
    return p.parse_args()


class Server:
    def __init__(self, args):
        self.args = args
        self.calls = 0
        self.start = time.monotonic()
        self.out = sys.stdout.buffer

    def stall_left(self):
        """Seconds left in the current stall window, 0 when not stalled."""
        every, ms = self.args.stall_every, self.args.stall_ms
        if every <= 0 or ms <= 0:
            return 0.0
        t = time.monotonic() - self.start
        into = t % every
        # The stall sits at the end of each period so the first one comes after `every` s.
        begin = every - ms / 1000.0
        return every - into if into >= begin else 0.0

    def send(self, msg):
        if self.args.garbage:
            self.out.write(b"fault-server garbage: this is not JSON-RPC\n")
        self.out.write(json.dumps(msg, separators=(",", ":")).encode() + b"\n")
        self.out.flush()

    def text(self, rid, text, is_error=False):
        return {"jsonrpc": "2.0", "id": rid, "result": {
            "content": [{"type": "text", "text": text}], "isError": is_error}}

    async def flawed(self, rid, name, a):
        if name == "strict":
            why = strict_error(a)
            await self.reply(self.text(rid, why or f"n = {a['n']}", is_error=why is not None))
        elif name == "lax":
            await self.reply(self.text(rid, "ok"))
        elif name == "hang":
            return
        elif name == "crash":
            sys.stderr.write("fault-server: the crash tool was called, exiting\n")
            sys.stderr.flush()
            os._exit(3)
        elif name == "noise":
            self.out.write(b"fault-server noise: debug output on stdout\n")
            await self.reply(self.text(rid, "ok"))
        elif name == "wrongid":
            wrong = (rid + 100000) if isinstance(rid, int) else f"{rid}-wrong"
            await self.reply(self.text(wrong, "ok"))
        elif name == "malformed":
            await self.reply({"jsonrpc": "2.0", "id": rid, "result": "not an object"})
        else:
            await self.reply({"jsonrpc": "2.0", "id": rid,
                              "error": {"code": -32602, "message": f"unknown tool {name}"}})

    async def reply(self, msg):
        left = self.stall_left()
        if left > 0:
            await asyncio.sleep(left)
        self.send(msg)

    async def call(self, rid, params):
        self.calls += 1
        if self.args.exit_after and self.calls > self.args.exit_after:
            sys.stderr.write("fault-server: exit-after reached, exiting\n")
            sys.stderr.flush()
            os._exit(3)
        name = params.get("name")
        if self.args.flawed:
            await self.flawed(rid, name, params.get("arguments", {}))
            return
        a = params.get("arguments") or {}
        if not isinstance(a, dict):
            await self.reply({"jsonrpc": "2.0", "id": rid,
                              "error": {"code": -32602, "message": "arguments must be an object"}})
            return
        if name == "delay":
            ms = float(a.get("ms", 0) or 0)
            if ms > 0:
                await asyncio.sleep(ms / 1000.0)
            await self.reply({"jsonrpc": "2.0", "id": rid, "result": {
                "content": [{"type": "text", "text": "ok"}], "isError": False}})
        elif name == "flaky":
            bad = random.random() < float(a.get("error_rate", 0.5))
            await self.reply({"jsonrpc": "2.0", "id": rid, "result": {
                "content": [{"type": "text", "text": "boom" if bad else "ok"}], "isError": bad}})
        elif name == "rpcfail":
            await self.reply({"jsonrpc": "2.0", "id": rid,
                              "error": {"code": -32000, "message": "injected failure"}})
        elif name == "hang":
            return
        else:
            await self.reply({"jsonrpc": "2.0", "id": rid,
                              "error": {"code": -32602, "message": f"unknown tool {name}"}})

    async def handle(self, msg):
        if not isinstance(msg, dict):
            # A batch or a bare value: one Invalid Request (batches are not MCP).
            self.send({"jsonrpc": "2.0", "id": None,
                       "error": {"code": -32600, "message": "Invalid Request"}})
            return
        method, rid = msg.get("method"), msg.get("id")
        if rid is None and method in ("initialize", "tools/list", "tools/call", "ping"):
            return  # a notification of a request method: never answered
        if method == "initialize":
            version = (msg.get("params") or {}).get("protocolVersion", "2025-06-18")
            self.send({"jsonrpc": "2.0", "id": rid, "result": {
                "protocolVersion": version,
                "capabilities": {"tools": {}},
                "serverInfo": {"name": self.args.name, "version": "1.0.0"}}})
        elif method == "tools/list":
            if self.args.bad_list:
                self.send({"jsonrpc": "2.0", "id": rid, "result": {"tools": "none"}})
                return
            self.send({"jsonrpc": "2.0", "id": rid,
                       "result": {"tools": FLAWED if self.args.flawed else TOOLS}})
        elif method == "tools/call":
            await self.call(rid, msg.get("params") or {})
        elif method == "ping":
            self.send({"jsonrpc": "2.0", "id": rid, "result": {}})
        elif method == "notifications/cancelled":
            rid_c = (msg.get("params") or {}).get("requestId")
            sys.stderr.write(f"fault-server: cancelled {rid_c}\n")
            sys.stderr.flush()
        elif rid is not None:
            self.send({"jsonrpc": "2.0", "id": rid,
                       "error": {"code": -32601, "message": f"method not found: {method}"}})
        # notifications (initialized, cancelled) need no answer

    async def run(self):
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=1 << 24)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        tasks = set()
        while True:
            try:
                line = await reader.readline()
            except ValueError:
                # A line over the limit: dropped; its tail arrives as a line that is not JSON.
                sys.stderr.write("fault-server: dropped a line over 16 MiB\n")
                sys.stderr.flush()
                continue
            if not line:
                return
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if isinstance(msg, dict) and msg.get("method") == "tools/call":
                t = asyncio.ensure_future(self.handle(msg))
                tasks.add(t)
                t.add_done_callback(tasks.discard)
            else:
                await self.handle(msg)


if __name__ == "__main__":
    try:
        asyncio.run(Server(parse_args()).run())
    except (BrokenPipeError, KeyboardInterrupt):
        pass
