#!/usr/bin/env python3
"""An OpenAI-compatible chat-completions server with exactly known timing,
for measuring jetstress's LLM metrics (a measuring instrument beside the
real llama.cpp server, never instead of it). Standard library only.

POST /v1/chat/completions (any path works; the path picks a mode):
  stream: true  -> a role-only chunk at once, the first token after
                   --ttft-ms, then one token every --itl-ms, --tokens in all
                   (or the request's max_tokens when smaller), a finish chunk,
                   a usage chunk (completion_tokens = tokens sent), [DONE]
  stream: false -> one JSON reply after ttft + (tokens - 1) * itl
Modes by path:
  /truncated/...  stops after half the tokens, no finish, no [DONE]
  /nonsse/...     200 with an HTML body
  /status/429/... (any status) that status with a JSON error body
  /stall/...      sends two tokens, then stalls for 60 s
  /midline/...    a stream whose third event is not JSON
--capacity N serves at most N requests at once (the rest wait their turn,
so time to first token grows past N concurrent users).
Prints "listening PORT" on stdout once bound.
"""
import argparse
import asyncio
import json
import sys
import time


def chunk(content=None, role=None, finish=None):
    delta = {}
    if role is not None:
        delta["role"] = role
    if content is not None:
        delta["content"] = content
    return {"id": "chatcmpl-x", "object": "chat.completion.chunk", "created": int(time.time()),
            "model": "timing", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


class Server:
    def __init__(self, args):
        self.args = args
        self.slots = asyncio.Semaphore(args.capacity) if args.capacity else None

    async def handle(self, reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                n = int(headers.get("content-length", "0"))
                body = await reader.readexactly(n) if n else b""
                if self.slots is None:
                    keep = await self.respond(method, path, body, writer)
                else:
                    async with self.slots:
                        keep = await self.respond(method, path, body, writer)
                if not keep:
                    break
        except (asyncio.IncompleteReadError, ConnectionResetError, BrokenPipeError):
            pass
        finally:
            try:
                writer.close()
            except Exception:
                pass

    def head(self, writer, status, ctype, chunked=True, length=None):
        reason = {200: "OK", 429: "Too Many Requests", 503: "Service Unavailable"}.get(status, "Status")
        h = f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\n"
        if chunked:
            h += "Transfer-Encoding: chunked\r\n"
        else:
            h += f"Content-Length: {length}\r\n"
        writer.write((h + "\r\n").encode())

    async def send_chunk(self, writer, data: bytes):
        writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        await writer.drain()

    async def event(self, writer, obj):
        data = obj if isinstance(obj, str) else json.dumps(obj, separators=(",", ":"))
        await self.send_chunk(writer, f"data: {data}\n\n".encode())

    async def respond(self, method, path, body, writer):
        a = self.args
        if method != "POST":
            msg = b"{}"
            self.head(writer, 200, "application/json", chunked=False, length=len(msg))
            writer.write(msg)
            await writer.drain()
            return True
        try:
            req = json.loads(body or b"{}")
        except ValueError:
            req = {}
        tokens = a.tokens
        if isinstance(req.get("max_tokens"), int):
            tokens = min(tokens, req["max_tokens"])
        parts = [p for p in path.split("/") if p]
        if parts[:1] == ["status"]:
            status = int(parts[1])
            msg = json.dumps({"error": {"message": f"status {status} on purpose"}}).encode()
            self.head(writer, status, "application/json", chunked=False, length=len(msg))
            writer.write(msg)
            await writer.drain()
            return True
        if parts[:1] == ["nonsse"]:
            msg = b"<html><body>502 Bad Gateway</body></html>"
            self.head(writer, 200, "text/html", chunked=False, length=len(msg))
            writer.write(msg)
            await writer.drain()
            return True
        loop = asyncio.get_running_loop()
        start = loop.time()

        async def until(ms):
            await asyncio.sleep(max(0.0, start + ms / 1000.0 - loop.time()))

        if not req.get("stream"):
            await until(a.ttft_ms + (tokens - 1) * a.itl_ms)
            reply = {"id": "chatcmpl-x", "object": "chat.completion", "model": "timing",
                     "choices": [{"index": 0, "message": {"role": "assistant",
                                                          "content": " ".join(["tok"] * tokens)},
                                  "finish_reason": "length"}],
                     "usage": {"prompt_tokens": a.prompt_tokens, "completion_tokens": tokens,
                               "total_tokens": a.prompt_tokens + tokens}}
            msg = json.dumps(reply).encode()
            self.head(writer, 200, "application/json", chunked=False, length=len(msg))
            writer.write(msg)
            await writer.drain()
            return True
        self.head(writer, 200, "text/event-stream")
        await self.event(writer, chunk(role="assistant", content=""))
        mode = parts[0] if parts else ""
        send = tokens // 2 if mode == "truncated" else tokens
        for i in range(send):
            await until(a.ttft_ms + i * a.itl_ms)
            if mode == "midline" and i == 2:
                await self.send_chunk(writer, b"data: {not json\n\n")
                continue
            await self.event(writer, chunk(content=f"t{i} "))
            if mode == "stall" and i == 1:
                await asyncio.sleep(60)
        if mode == "truncated":
            await self.send_chunk(writer, b"")
            return False
        await self.event(writer, chunk(finish="length"))
        usage = {"id": "chatcmpl-x", "object": "chat.completion.chunk", "model": "timing", "choices": [],
                 "usage": {"prompt_tokens": a.prompt_tokens, "completion_tokens": send,
                           "total_tokens": a.prompt_tokens + send}}
        await self.event(writer, usage)
        await self.event(writer, "[DONE]")
        await self.send_chunk(writer, b"")
        return True


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--ttft-ms", type=float, default=200.0)
    p.add_argument("--itl-ms", type=float, default=20.0)
    p.add_argument("--tokens", type=int, default=16)
    p.add_argument("--prompt-tokens", type=int, default=9)
    p.add_argument("--capacity", type=int, default=0)
    args = p.parse_args()
    s = Server(args)
    srv = await asyncio.start_server(s.handle, "127.0.0.1", args.port)
    port = srv.sockets[0].getsockname()[1]
    print(f"listening {port}", flush=True)
    async with srv:
        await srv.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
