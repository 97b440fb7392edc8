"""Explicit, short, deterministic cloud names for resources whose provider limits the name's length.

Without an explicit name, Pulumi's bridged providers name a resource `<resource name>-<7
random characters>` and refuse the result when it exceeds the cloud's limit (AWS load
balancers and target groups 32 characters, IAM roles 64, GCP resources 63). A name from
`bounded_name` always fits: the readable parts, cut to length, plus a short hash of the
full parts and of `salt` (the properties whose change replaces the resource, so a
replacement gets a new name and can be created before the old one is deleted).
"""

from __future__ import annotations

import hashlib
import re

HASH_LENGTH = 6


def _clean(text: str) -> str:
    return re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]+", "-", text.lower())).strip("-")


def bounded_name(*parts: str, limit: int, salt: str = "") -> str:
    """`<parts joined by '-'>-<hash>` in at most `limit` characters (lowercase letters, digits, '-').

    When the parts are too long, the first (the cluster or mesh name) is cut and the rest kept,
    so `bounded_name(cluster, "ingress", "443", limit=32)` still ends in `ingress-443-<hash>`.
    """
    room = limit - HASH_LENGTH - 1
    if room < 1:
        raise ValueError(f"limit {limit} leaves no room for a readable name")
    first, rest = _clean(parts[0]) if parts else "", _clean("-".join(parts[1:]))
    if rest and len(rest) + 2 <= room:
        readable = f"{first[: room - len(rest) - 1].rstrip('-')}-{rest}".strip("-")
    else:
        readable = _clean(f"{first}-{rest}")[:room].rstrip("-")
    if not readable[:1].isalpha():
        readable = f"m{readable}"[:room].rstrip("-")
    digest = hashlib.sha256("\0".join((*parts, salt)).encode()).hexdigest()[:HASH_LENGTH]
    return f"{readable}-{digest}"
