"""A small stand-in for Grafana Loki's HTTP API, for tests only.

Why a stand-in: Grafana Loki is not packaged in any registry this project can install from
(Debian's ``loki`` package is an unrelated biology program, and PyPI/npm ship no Loki binary).
This server implements the parts of Loki's documented API the client uses, with Loki's
semantics:

* ``POST /loki/api/v1/push`` (JSON: ``{"streams": [{"stream": {...}, "values": [["<ns>",
  "<line>"], ...]}]}``), 204 on success;
* ``GET /loki/api/v1/query_range`` with ``query`` (a stream selector ``{a="x", b=~"re",
  c!="y", d!~"re"}`` plus optional ``|= "text"`` / ``!= "text"`` line filters), ``start``
  (inclusive) and ``end`` (exclusive) in ns, ``limit`` (default 100, like Loki; more than
  ``max_entries`` -> 400 like ``max_entries_limit_per_query``) and ``direction``
  (``forward`` = oldest first, ``backward`` = newest first); the answer holds at most
  ``limit`` entries over all streams, grouped by stream;
* ``GET /ready``. A parse error answers 400 with a text body, as Loki does.

Optional: ``token`` makes every request require ``Authorization: Bearer <token>`` (401 else).
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

_MATCHER = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*')
_FILTER = re.compile(r'\s*(\|=|!=)\s*"((?:[^"\\]|\\.)*)"')


def parse_logql(query: str):
    """``{a="x"} |= "err"`` -> (matchers, filters); ValueError on anything else."""
    q = query.strip()
    if not q.startswith("{") or "}" not in q:
        raise ValueError(f"parse error : syntax error: unexpected input {q[:20]!r}")
    sel, rest = q[1:].split("}", 1)
    matchers = []
    for part in [p for p in sel.split(",") if p.strip()]:
        m = _MATCHER.fullmatch(part)
        if not m:
            raise ValueError(f"parse error : syntax error in matcher {part.strip()!r}")
        matchers.append((m.group(1), m.group(2), m.group(3)))
    if not matchers:
        raise ValueError("parse error : queries require at least one regexp or equality "
                         "matcher that does not have an empty-compatible value")
    filters = []
    rest = rest.strip()
    while rest:
        m = _FILTER.match(rest)
        if not m:
            raise ValueError(f"parse error : syntax error: unexpected {rest[:20]!r}")
        filters.append((m.group(1), m.group(2)))
        rest = rest[m.end():].strip()
    return matchers, filters


def _match(labels: dict, matchers) -> bool:
    for name, op, value in matchers:
        v = labels.get(name, "")
        ok = {"=": v == value, "!=": v != value,
              "=~": re.fullmatch(value, v) is not None,
              "!~": re.fullmatch(value, v) is None}[op]
        if not ok:
            return False
    return True


class LokiStandIn:
    """Run with ``with LokiStandIn() as loki: loki.url``."""

    def __init__(self, token: str | None = None, max_entries: int = 5000) -> None:
        self.streams: dict[tuple, list[tuple[int, str]]] = {}
        self.lock = threading.Lock()
        self.token = token
        self.max_entries = max_entries
        self.requests = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _send(self, code: int, body: bytes = b"", ctype: str = "application/json"):
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _authorized(self) -> bool:
                if owner.token and self.headers.get("Authorization") != f"Bearer {owner.token}":
                    self._send(401, b"no org id or unauthorized\n", "text/plain")
                    return False
                return True

            def do_POST(self):
                owner.requests += 1
                if not self._authorized():
                    return
                if urlsplit(self.path).path != "/loki/api/v1/push":
                    return self._send(404, b"404 page not found\n", "text/plain")
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with owner.lock:
                    for s in body["streams"]:
                        key = tuple(sorted(s["stream"].items()))
                        owner.streams.setdefault(key, []).extend(
                            (int(ts), line) for ts, line in s["values"])
                self._send(204)

            def do_GET(self):
                owner.requests += 1
                parts = urlsplit(self.path)
                if parts.path == "/ready":
                    return self._send(200, b"ready\n", "text/plain")
                if not self._authorized():
                    return
                if parts.path != "/loki/api/v1/query_range":
                    return self._send(404, b"404 page not found\n", "text/plain")
                q = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                try:
                    matchers, filters = parse_logql(q.get("query", ""))
                except ValueError as e:
                    return self._send(400, str(e).encode(), "text/plain")
                limit = int(q.get("limit", "100"))
                if limit > owner.max_entries:
                    return self._send(400, (f"max entries limit per query exceeded, limit > "
                                            f"max_entries_limit ({limit} > "
                                            f"{owner.max_entries})").encode(), "text/plain")
                start, end = int(q.get("start", "0")), int(q["end"])
                forward = q.get("direction", "backward") == "forward"
                hits = []
                with owner.lock:
                    for key, entries in owner.streams.items():
                        if not _match(dict(key), matchers):
                            continue
                        for ts, line in entries:
                            if not start <= ts < end:
                                continue
                            if all((op == "|=") == (text in line) for op, text in filters):
                                hits.append((ts, key, line))
                hits.sort(key=lambda h: h[0], reverse=not forward)
                hits = hits[:limit]
                grouped: dict[tuple, list] = {}
                for ts, key, line in hits:
                    grouped.setdefault(key, []).append([str(ts), line])
                result = [{"stream": dict(k), "values": v} for k, v in grouped.items()]
                body = {"status": "success",
                        "data": {"resultType": "streams", "result": result, "stats": {}}}
                self._send(200, json.dumps(body).encode())

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> LokiStandIn:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
