"""One HTTP layer for the live sources (Prometheus, Alertmanager, Loki).

Timeouts, retries with exponential backoff on 5xx and connection errors (never on 4xx),
bearer token / basic auth / custom headers, TLS CA bundle and verify switch, proxies from the
environment (httpx's ``trust_env``). Errors name the server (without userinfo), the query and
what the server answered; credentials never appear in messages, results or provenance.

Server URLs are looked up in one place, :func:`server_url` (explicit argument, then the
environment variables ``JUPYTER_OPS_PROMETHEUS_URL`` / ``..._ALERTMANAGER_URL`` /
``..._LOKI_URL``). Credentials for a source come from arguments or the environment variables
``JUPYTER_OPS_<SOURCE>_TOKEN``, ``..._USERNAME`` + ``..._PASSWORD``, ``..._CA_BUNDLE`` and
``..._VERIFY`` (``0``/``false`` turns TLS verification off), or from userinfo in the URL.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from ..errors import OpsConnectionError, OpsInputError

__all__ = ["LiveClient", "server_url", "display_url", "SOURCES"]

#: source kind -> (display name, URL environment variable)
SOURCES: dict[str, tuple[str, str]] = {
    "prometheus": ("Prometheus", "JUPYTER_OPS_PROMETHEUS_URL"),
    "alertmanager": ("Alertmanager", "JUPYTER_OPS_ALERTMANAGER_URL"),
    "loki": ("Loki", "JUPYTER_OPS_LOKI_URL"),
}

#: default seconds per request (connect and read); override with ``timeout=``
DEFAULT_TIMEOUT = 30.0
#: default retries after the first attempt on 5xx / connection errors
DEFAULT_RETRIES = 2
#: first backoff in seconds (doubled each retry)
DEFAULT_BACKOFF = 0.25


def server_url(kind: str, url: str | None = None) -> str:
    """The base URL of a live source: ``url`` if given, else ``%config JupyterOps.<kind>_url``,
    else its environment variable.

    The single lookup every front end uses (magics, CLI, server extension), so configuration
    (``%config JupyterOps.prometheus_url``) plugs in here.

    Raises
    ------
    OpsInputError
        Unknown kind, no URL configured, or a URL that is not http(s).
    """
    if kind not in SOURCES:
        raise OpsInputError(f"unknown live source {kind!r}; use one of {', '.join(SOURCES)}")
    name, var = SOURCES[kind]
    from ..config import get_settings

    # an explicit argument, then %config JupyterOps.<kind>_url, then the environment
    value = (url or get_settings().explicit_url(kind) or os.environ.get(var) or "").strip()
    if not value:
        raise OpsInputError(
            f"no {name} URL configured: pass url=..., or set the environment variable {var} "
            f"(e.g. {var}=http://127.0.0.1:{_DEFAULT_PORTS[kind]})")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OpsInputError(
            f"{name} URL {display_url(value)!r} must look like http://host:port (http or https)")
    return value


_DEFAULT_PORTS = {"prometheus": 9090, "alertmanager": 9093, "loki": 3100}


def display_url(url: str) -> str:
    """``url`` without userinfo, query string or fragment: safe to show and to record."""
    try:
        parts = urlsplit(str(url))
    except ValueError:
        return "<unparseable URL>"
    host = parts.hostname or ""
    if ":" in host:  # IPv6
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host + (f":{port}" if port else "")
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def _env_flag(value: str | None) -> bool | None:
    if value is None or value.strip() == "":
        return None
    return value.strip().lower() not in ("0", "false", "no", "off")


@dataclass
class LiveClient:
    """An HTTP client bound to one server of one kind (thread-safe; reuse it for many calls).

    Parameters
    ----------
    kind : str
        ``prometheus``, ``alertmanager`` or ``loki`` (names the server in errors, picks the env
        variables).
    url : str, optional
        Base URL (default: :func:`server_url`). Userinfo (``http://user:pw@host``) is used as
        basic auth and stripped everywhere else.
    token : str, optional
        Bearer token (default ``JUPYTER_OPS_<KIND>_TOKEN``).
    username, password : str, optional
        Basic auth (default ``JUPYTER_OPS_<KIND>_USERNAME`` / ``..._PASSWORD``).
    headers : dict, optional
        Extra request headers (e.g. ``{"X-Scope-OrgID": "tenant1"}``); their values are
        treated as secrets too.
    ca_bundle : str, optional
        CA certificate file for TLS (default ``JUPYTER_OPS_<KIND>_CA_BUNDLE``).
    verify : bool, optional
        Verify TLS certificates (default True, or ``JUPYTER_OPS_<KIND>_VERIFY``).
    timeout : float
        Seconds per request (connect and each read).
    retries : int
        Extra attempts on 5xx answers and connection errors (never on 4xx).
    backoff : float
        First wait between attempts in seconds, doubled each time.
    compression : bool, optional
        Ask for gzip-compressed answers. Default (None): not for a server on this machine
        (``localhost``, ``127.0.0.0/8``, ``::1``), where compressing a 100 MB range answer costs
        the server and the client several seconds and saves nothing; yes for any other host.
        ``JUPYTER_OPS_<KIND>_COMPRESSION=0/1`` overrides.
    """

    kind: str
    url: str | None = field(default=None, repr=False)  # may hold userinfo
    token: str | None = field(default=None, repr=False)
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    headers: dict[str, str] | None = field(default=None, repr=False)
    ca_bundle: str | None = None
    verify: bool | None = None
    timeout: float = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES
    backoff: float = DEFAULT_BACKOFF
    compression: bool | None = None

    def __post_init__(self) -> None:
        import httpx

        raw = server_url(self.kind, self.url)
        self.name = SOURCES[self.kind][0]
        prefix = f"JUPYTER_OPS_{self.kind.upper()}_"
        parts = urlsplit(raw)
        user = self.username or os.environ.get(prefix + "USERNAME") or (
            _unquote(parts.username) if parts.username else None)
        pw = self.password or os.environ.get(prefix + "PASSWORD") or (
            _unquote(parts.password) if parts.password else None)
        token = self.token or os.environ.get(prefix + "TOKEN")
        self.base = display_url(raw)  # no userinfo from here on
        # values to scrub from every message (usernames are not secret; passwords, tokens
        # and custom header values such as API keys are)
        self._secrets = [s for s in (token, pw, *(self.headers or {}).values())
                         if s and len(str(s)) >= 3]
        if pw:
            self._secrets += [quote(pw, safe=""), f"{user}:{pw}"]
        compress = self.compression if self.compression is not None else _env_flag(
            os.environ.get(prefix + "COMPRESSION"))
        if compress is None:
            compress = not _is_loopback(parts.hostname or "")
        headers = {"Accept": "application/json", "User-Agent": "jupyter-ops",
                   "Accept-Encoding": "gzip" if compress else "identity"}
        headers.update(self.headers or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        auth = httpx.BasicAuth(user or "", pw or "") if (user or pw) else None
        ca = self.ca_bundle or os.environ.get(prefix + "CA_BUNDLE")
        verify_flag = self.verify if self.verify is not None else _env_flag(
            os.environ.get(prefix + "VERIFY"))
        verify: Any = True if verify_flag is None else verify_flag
        if ca and verify is not False:
            import ssl

            verify = ssl.create_default_context(cafile=ca)
        self._http = httpx.Client(
            base_url=self.base, headers=headers, auth=auth, verify=verify,
            timeout=httpx.Timeout(self.timeout), trust_env=True, follow_redirects=False,
            limits=httpx.Limits(max_connections=16, max_keepalive_connections=8))

    # -- lifecycle -------------------------------------------------------------------------
    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> LiveClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- requests --------------------------------------------------------------------------
    def scrub(self, text: str) -> str:
        """``text`` with every credential of this client replaced by ``***``."""
        for s in self._secrets:
            text = text.replace(str(s), "***")
        return text

    def request(self, method: str, path: str, *, query: str = "", params: Any = None,
                json: Any = None, content: bytes | None = None,
                headers: dict[str, str] | None = None) -> Any:
        """Send a request; return the httpx response of a 2xx answer.

        Retries 5xx answers and connection errors ``retries`` times with exponential backoff.

        Raises
        ------
        OpsInputError
            The server answered 4xx (bad query, refused credentials): not retried.
        OpsConnectionError
            Unreachable, timed out or 5xx after all retries.
        """
        import httpx

        what = f" for {query!r}" if query else ""
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * (2 ** (attempt - 1)))
            try:
                resp = self._http.request(method, path, params=params, json=json,
                                          content=content, headers=headers)
            except httpx.TimeoutException:
                last = f"did not answer within {self.timeout:g} s"
                continue
            except httpx.TransportError as e:
                last = f"cannot be reached ({type(e).__name__}: {self.scrub(str(e))[:200]})"
                continue
            if resp.status_code < 400:
                return resp
            detail = self._answer(resp)
            if resp.status_code < 500:
                hint = ""
                if resp.status_code in (401, 403):
                    hint = (f"; check the credentials (token=/username=/password= or "
                            f"JUPYTER_OPS_{self.kind.upper()}_TOKEN / _USERNAME / _PASSWORD)")
                raise OpsInputError(self.scrub(
                    f"{self.name} at {self.base} answered {resp.status_code} {detail}{what}{hint}"))
            last = f"answered {resp.status_code} {detail}"
        tries = self.retries + 1
        raise OpsConnectionError(self.scrub(
            f"{self.name} at {self.base} {last}{what} (after {tries} attempt"
            f"{'s' if tries > 1 else ''})"))

    def get_json(self, path: str, *, query: str = "", params: Any = None) -> Any:
        """GET ``path`` and parse the JSON body (see :meth:`request` for errors)."""
        resp = self.request("GET", path, query=query, params=params)
        try:
            return resp.json()
        except ValueError:
            what = f" for {query!r}" if query else ""
            raise OpsConnectionError(self.scrub(
                f"{self.name} at {self.base} answered {resp.status_code} with a body that is "
                f"not JSON{what}: {resp.text[:120]!r}")) from None

    def _answer(self, resp: Any) -> str:
        """What the server said: Prometheus/Alertmanager/Loki error JSON or the body's start."""
        text = resp.text or ""
        try:
            body = resp.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            etype = body.get("errorType") or ""
            msg = body.get("error") or body.get("message") or ""
            if etype or msg:
                return f"{etype}: {msg}".strip(": ") if etype else str(msg)
        text = " ".join(text.split())
        return (text[:300] + "...") if len(text) > 300 else (text or resp.reason_phrase)


def _unquote(s: str) -> str:
    from urllib.parse import unquote

    return unquote(s)


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
