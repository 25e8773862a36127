"""Toxiproxy (Shopify/toxiproxy, a maintained TCP fault proxy) for the slow-network tests.

The kernel here has no ``sch_netem`` (``tc qdisc ... netem`` is refused), so latency,
jitter, slow and cut connections are added by Toxiproxy between the clients and a broker
that advertises the proxy's port. The binary comes from ``$EVTUI_TOXIPROXY``, else
``~/.cache/evtui/toxiproxy-2.5.0/server`` (built there once with ``go install``; Go modules
come from the module proxy), else the test is skipped saying why.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

VERSION = "2.5.0"
CACHE = Path.home() / ".cache" / "evtui" / f"toxiproxy-{VERSION}"


def binary() -> Path | None:
    """The toxiproxy server: given, cached, or built now (None when it cannot be had)."""
    given = os.environ.get("EVTUI_TOXIPROXY")
    if given:
        return Path(given)
    built = CACHE / "server"
    if built.is_file():
        return built
    go = find_go()
    if go is None:
        return None
    done = subprocess.run(
        [go, "install", f"github.com/Shopify/toxiproxy/v2/cmd/server@v{VERSION}"],
        env={**os.environ, "GOBIN": str(CACHE)}, capture_output=True, timeout=600,
    )  # fmt: skip
    return built if done.returncode == 0 and built.is_file() else None


def find_go() -> str | None:
    """The go command: on PATH, or where Go's own installer and GOROOT put it (a CI shell's
    PATH often lacks /usr/local/go/bin, and the test was then skipped)."""
    found = shutil.which("go")
    if found is not None:
        return found
    roots = [os.environ.get("GOROOT"), "/usr/local/go", str(Path.home() / "go"), "/usr/lib/go"]
    for root in filter(None, roots):
        candidate = Path(root) / "bin" / "go"
        if os.access(candidate, os.X_OK):
            return str(candidate)
    return None


class Toxiproxy:
    """A toxiproxy server on 127.0.0.1:``api_port``; proxies and toxics through its API."""

    def __init__(self, path: Path, api_port: int) -> None:
        self.api = f"http://127.0.0.1:{api_port}"
        self.proc = subprocess.Popen(
            [str(path), "-host", "127.0.0.1", "-port", str(api_port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while True:
            try:
                self._call("GET", "/version")
                break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise
                time.sleep(0.1)

    def _call(self, method: str, path: str, body: dict | None = None) -> object:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.api + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})  # fmt: skip
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read()
        try:
            return json.loads(text) if text.strip() else None
        except ValueError:  # /version answers plain text
            return text.decode()

    def proxy(self, name: str, listen: int, upstream: int) -> None:
        self._call(
            "POST",
            "/proxies",
            {
                "name": name,
                "listen": f"127.0.0.1:{listen}",
                "upstream": f"127.0.0.1:{upstream}",
                "enabled": True,
            },
        )

    def toxic(self, proxy: str, kind: str, stream: str = "downstream", **attributes: int) -> str:
        name = f"{kind}_{stream}_{len(attributes)}_{time.monotonic_ns()}"
        self._call("POST", f"/proxies/{proxy}/toxics", {
            "name": name, "type": kind, "stream": stream, "toxicity": 1.0,
            "attributes": attributes})  # fmt: skip
        return name

    def remove(self, proxy: str, toxic: str) -> None:
        self._call("DELETE", f"/proxies/{proxy}/toxics/{toxic}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
