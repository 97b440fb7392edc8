"""The dependency graph of a stack, as the engine orders deletes by it.

A resource is deleted before everything it (transitively) depends on: its explicit and
property dependencies, its provider and, through a dependency on a component, all of the
component's descendants.
"""

from __future__ import annotations

from collections.abc import Sequence

from .model import StackResource


class Graph:
    """Transitive dependencies over a list of StackResources, computed on demand and cached."""

    def __init__(self, resources: Sequence[StackResource]) -> None:
        self.resources = list(resources)
        self.by_urn = {r.urn: r for r in self.resources}
        self._children: dict[str, list[str]] = {}
        for r in self.resources:
            if r.parent:
                self._children.setdefault(r.parent, []).append(r.urn)
        self._cache: dict[str, frozenset[str]] = {}

    def descendants(self, urn: str) -> list[str]:
        out: list[str] = []
        stack = list(self._children.get(urn, []))
        while stack:
            current = stack.pop()
            out.append(current)
            stack.extend(self._children.get(current, []))
        return out

    def direct(self, urn: str) -> list[str]:
        resource = self.by_urn.get(urn)
        if resource is None:
            return []
        edges = list(resource.dependencies)
        if resource.provider:
            edges.append(resource.provider)
        expanded: list[str] = []
        for edge in edges:
            expanded.append(edge)
            expanded.extend(self.descendants(edge))
        return expanded

    def ancestors(self, urn: str) -> frozenset[str]:
        """Every URN that `urn` transitively depends on."""
        cached = self._cache.get(urn)
        if cached is not None:
            return cached
        seen: set[str] = set()
        stack = self.direct(urn)
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            stack.extend(self.direct(current))
        result = frozenset(seen)
        self._cache[urn] = result
        return result

    def depends_on(self, dependent: str, dependency: str) -> bool:
        return dependency in self.ancestors(dependent)
