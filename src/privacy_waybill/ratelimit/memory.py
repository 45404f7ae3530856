"""Counters in this process: the default when no Redis is configured (one API node)."""

from __future__ import annotations

import threading


class MemoryCounters:
    """Counts per (name, key, window); windows older than the previous one are dropped."""

    def __init__(self, max_keys: int = 200_000) -> None:
        self._counts: dict[tuple[str, str], dict[int, int]] = {}
        self._lock = threading.Lock()
        self._max_keys = max_keys

    def increment(self, name: str, key: str, window: int, ttl_seconds: int) -> tuple[int, int]:
        with self._lock:
            if len(self._counts) >= self._max_keys:
                self._drop_stale(window)
            windows = self._counts.setdefault((name, key), {})
            for old in [w for w in windows if w < window - 1]:
                del windows[old]
            windows[window] = windows.get(window, 0) + 1
            return windows.get(window - 1, 0), windows[window]

    def clear(self, name: str, key: str, window: int) -> None:
        with self._lock:
            self._counts.pop((name, key), None)

    def _drop_stale(self, window: int) -> None:
        """Bound memory under a flood of distinct keys: drop keys with nothing recent."""
        stale = [k for k, windows in self._counts.items() if max(windows, default=0) < window - 1]
        for k in stale:
            del self._counts[k]
        if len(self._counts) >= self._max_keys:
            # Every key is recent: forget the oldest half rather than grow without bound.
            for k in list(self._counts)[: self._max_keys // 2]:
                del self._counts[k]
