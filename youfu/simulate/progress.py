"""A plain-terminal progress line: redrawn in place with `\\r` on a terminal, a line every few
seconds otherwise (logs, pipes, tests). Phase changes are printed as `[phase] <name>` lines, which
`make soak` reads to know when the load starts and stops."""
from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Callable
from typing import TextIO


def bar(fraction: float, width: int = 24) -> str:
    fraction = min(1.0, max(0.0, fraction))
    full = int(fraction * width)
    return "[" + "#" * full + "." * (width - full) + f"] {fraction * 100:3.0f}%"


class Progress:
    def __init__(self, out: TextIO, *, quiet: bool = False, every_s: float = 5.0) -> None:
        self.out, self.quiet, self.every_s = out, quiet, every_s
        self.tty = bool(getattr(out, "isatty", lambda: False)())
        self.render: Callable[[], str] | None = None
        self._drawn = False
        self._last_line = 0.0

    def say(self, text: str) -> None:
        if self.quiet:
            return
        self._clear()
        print(text, file=self.out, flush=True)

    def phase(self, name: str, label: str) -> None:
        """A line machines wait for (`make soak`), unless quiet."""
        if self.quiet:
            return
        self._clear()
        print(f"[phase] {name} · {label}", file=self.out, flush=True)

    def _clear(self) -> None:
        if self._drawn:
            self.out.write("\r" + " " * (shutil.get_terminal_size((100, 20)).columns - 1) + "\r")
            self._drawn = False

    def tick(self, force: bool = False) -> None:
        if self.quiet or self.render is None:
            return
        line = self.render()
        if self.tty:
            width = shutil.get_terminal_size((100, 20)).columns - 1
            self.out.write("\r" + line[:width].ljust(width))
            self.out.flush()
            self._drawn = True
        elif force or time.monotonic() - self._last_line >= self.every_s:
            print(line, file=self.out, flush=True)
            self._last_line = time.monotonic()

    async def run(self, interval_s: float = 0.25) -> None:
        while True:
            self.tick()
            await asyncio.sleep(interval_s)

    def done(self) -> None:
        self.tick(force=True)
        if self._drawn:
            self.out.write("\n")
            self.out.flush()
            self._drawn = False
        self.render = None
