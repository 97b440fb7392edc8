"""Stack locks of self-managed backends: who holds one, and whether that run is still alive.

`pulumi up`, `refresh` and `destroy` take a lock file in the backend
(`<backend>/.pulumi/locks/<org>/<project>/<stack>/<id>.json`: pid, user, host and time of the
CLI that holds it) and delete it when they end, also after a graceful cancel. A run that was
killed (SIGKILL, a CI runner's hard stop) leaves it behind, and every later update fails with
"the stack is currently locked". The pipeline tells the two cases apart:

- the holder runs on this host and its pid is still a `pulumi` process: another run is changing
  the stack (a concurrent run, exit 4, `busy`);
- otherwise the lock is stale or its holder cannot be checked from here (another host):
  exit 2, `locked`, with the command that removes it (`python -m stacks.pipeline cancel`).
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

LOCKED_MARKER = "the stack is currently locked"
_HOLDER = re.compile(
    r"^\s*(?P<url>\S+): created by (?P<user>.*?)@(?P<host>\S+) \(pid (?P<pid>\d+)\) at (?P<since>\S+)\s*$"
)


@dataclass(frozen=True)
class LockHolder:
    """One lock of a stack: the file and the CLI process that wrote it."""

    location: str
    user: str
    host: str
    pid: int
    since: str

    @property
    def alive(self) -> bool | None:
        """True: a `pulumi` process with that pid runs here; False: it is gone; None: another host."""
        if self.host != socket.gethostname():
            return None
        return pulumi_process_alive(self.pid)

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host} (user {self.user}) since {self.since}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "location": self.location,
            "user": self.user,
            "host": self.host,
            "pid": self.pid,
            "since": self.since,
            "alive": self.alive,
        }


def pulumi_process_alive(pid: int) -> bool:
    """Whether `pid` is a live `pulumi` process (a reused pid of another program does not count)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    if stat[stat.rfind(")") + 2 :].startswith("Z"):
        return False
    return any(
        Path(arg.decode(errors="replace")).name == "pulumi" for arg in cmdline[:2]
    )  # binary, or a script's interpreter


def is_locked_error(text: str) -> bool:
    return LOCKED_MARKER in text


def holders_in_error(text: str) -> list[LockHolder]:
    """The lock holders the CLI lists under "the stack is currently locked by N lock(s)"."""
    holders: list[LockHolder] = []
    for line in text.splitlines():
        match = _HOLDER.match(line)
        if match:
            holders.append(LockHolder(match["url"], match["user"], match["host"], int(match["pid"]), match["since"]))
    return holders


def backend_root(backend_url: str) -> Path | None:
    """The directory of a `file://` backend (None for other backends)."""
    if not backend_url.startswith("file://"):
        return None
    return Path(unquote(urlparse(backend_url).path or backend_url[len("file://") :])).expanduser()


def lock_directory(backend_url: str, fully_qualified_stack: str) -> Path | None:
    """The lock directory of a stack on a `file://` backend (None for other backends)."""
    root = backend_root(backend_url)
    return None if root is None else root / ".pulumi" / "locks" / fully_qualified_stack


def file_backend_locks(backend_url: str, stack: str, project: str = "meshgate") -> list[LockHolder]:
    """The lock files of `stack` on a `file://` backend (any organization), read directly."""
    if not backend_url.startswith("file://"):
        return []
    base = lock_directory(backend_url, "")
    assert base is not None
    holders: list[LockHolder] = []
    for path in sorted(base.glob(f"*/{project}/{stack}/*.json")):
        try:
            content: Mapping[str, Any] = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        holders.append(
            LockHolder(
                location=str(path),
                user=str(content.get("username", "?")),
                host=str(content.get("hostname", "?")),
                pid=int(content.get("pid", 0) or 0),
                since=str(content.get("timestamp", "?")),
            )
        )
    return holders
