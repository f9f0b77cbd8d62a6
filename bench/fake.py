"""The benchmark's model: tests/fakes/fake_llm.py in its own process, answering
instantly, plus two things the benchmark needs.

* A long streamed reply on demand: a user message containing
  ``[bench-stream N]`` is answered with N text deltas (a word each), written
  all at once (a burst), and ``[bench-stream N P]`` with the deltas P
  milliseconds apart (paced, like a model generating).
  Every other message gets the fake's default ``echo: <text>`` reply.
* Its own time per request, recorded in-process (from the parsed request to
  the response written to the socket buffer) and served at ``GET
  /bench/stats`` (``GET /bench/reset`` clears it); ``GET /bench/last`` returns the last
  generation request body, so the benchmark can replay exactly what Mnemo
  sent directly with the openai SDK.

    python -m bench.fake --port 8999
"""
from __future__ import annotations

import argparse
import re
import signal
import threading
import time
from typing import Any

from tests.fakes.fake_llm import FakeLLM, Reply, _last_user_text

STREAM_MARKER = re.compile(r"\[bench-stream (\d+)(?: ([\d.]+))?\]")


def stream_prompt(tokens: int, pace_ms: float = 0) -> str:
    pace = f" {pace_ms:g}" if pace_ms else ""
    return f"[bench-stream {tokens}{pace}] tell me a long story"


def reply_for(body: dict[str, Any]) -> Reply:
    text = _last_user_text(body)
    match = STREAM_MARKER.search(text)
    if match:
        n, pace_ms = int(match.group(1)), float(match.group(2) or 0)
        return Reply(text="".join(f"w{i} " for i in range(n)), stream_chunks=n, chunk_delay_s=pace_ms / 1000)
    return Reply(text="echo: " + text)


class BenchFake(FakeLLM):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.default = reply_for
        self.times_ms: list[float] = []
        self.last_body: Any = None

    async def _dispatch(self, writer, method, path, headers, raw, keep_alive, query=None,  # type: ignore[override]
                        reader=None):
        if path.startswith("/bench/"):
            if path == "/bench/stats":
                payload: Any = {"count": len(self.times_ms), "times_ms": list(self.times_ms)}
            elif path == "/bench/reset":
                self.times_ms.clear()
                payload = {"count": 0}
            else:
                payload = {"body": self.last_body}
            self._send_json(writer, 200, payload, "openai", keep_alive)
            return
        started = time.perf_counter()
        await super()._dispatch(writer, method, path, headers, raw, keep_alive, query, reader)
        self.times_ms.append((time.perf_counter() - started) * 1000)
        if len(self.times_ms) > 200_000:
            del self.times_ms[:100_000]
        with self._lock:  # keep memory flat over a long run: only the last request is kept
            if self._requests:
                last = self._requests[-1]
                if last.endpoint in ("chat.completions", "messages"):
                    self.last_body = last.body
                self._requests.clear()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="The benchmark's fake model.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    server = BenchFake(host=args.host, port=args.port).start()
    print(f"fake LLM ready on {server.base_url}", flush=True)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
