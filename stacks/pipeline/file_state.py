"""Repair of a `file://` backend's stack file after the engine was killed while writing it.

The file backend stores each blob through gocloud.dev's `fileblob`: the checkpoint is written to
a temporary file and renamed into place (atomic), but its attributes file `<blob>.attrs` (content
type and MD5, JSON) is truncated and rewritten in place just before that rename
(`setAttrs`: `os.Create`, then encode). A run killed between the two leaves a zero-length
`render.json.attrs` next to the previous, complete checkpoint, and every later command fails
with `failed to load checkpoint: EOF` (measured: a forced stop of `destroy` on the render stack).
`fileblob` treats a missing attributes file as "no attributes", and Pulumi reads none of them, so
removing the empty file is the whole repair; the checkpoint itself is untouched.
"""

from __future__ import annotations

from pathlib import Path

from stacks.pipeline.locks import backend_root

DAMAGED_MARKER = "failed to load checkpoint"


def damaged_attributes(backend_url: str, stack: str) -> list[Path]:
    """Zero-length attribute files of `stack`'s checkpoint (any project layout) on a `file://` backend."""
    root = backend_root(backend_url)
    if root is None:
        return []
    stacks = root / ".pulumi" / "stacks"
    found = [*stacks.glob(f"{stack}.json*.attrs"), *stacks.glob(f"*/{stack}.json*.attrs")]
    return sorted(p for p in found if p.is_file() and p.stat().st_size == 0)


def repair(backend_url: str, stack: str) -> list[str]:
    """Remove the damaged attribute files; returns what was removed."""
    removed: list[str] = []
    for path in damaged_attributes(backend_url, stack):
        path.unlink(missing_ok=True)
        removed.append(str(path))
    return removed
