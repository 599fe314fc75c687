"""Run ``imagenet`` on a real pseudo-terminal: stdin, stdout and stderr all a TTY."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping, Sequence


class Terminal:
    """``imagenet ARGS`` in a child process whose terminal is a pty this side drives."""

    def __init__(self, args: Sequence[str], env: Mapping[str, str]) -> None:
        import pty

        self.seen = b""
        self.read_to = 0  # the end of what the last wait_for found
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child
            os.execve(
                sys.executable,
                [sys.executable, "-m", "imagenet_cli", *args],
                {**env, "COLUMNS": "100"},
            )

    def wait_for(self, text: bytes, timeout: float = 60) -> bytes:
        """Read until ``text`` shows after what the last call found; what came up to it.

        Searched from the end of the last match, not of all that was read: two prompts
        may arrive in one read."""
        import select

        start = self.read_to
        deadline = time.monotonic() + timeout
        while text not in self.seen[start:]:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {text!r} on the terminal; it shows:\n{self.seen!r}")
            if select.select([self.fd], [], [], min(left, 1))[0]:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"ended before {text!r}; it shows:\n{self.seen!r}")
                self.seen += chunk
        self.read_to = self.seen.index(text, start) + len(text)
        return self.seen[start : self.read_to]

    def type(self, line: str) -> None:
        os.write(self.fd, line.encode() + b"\r")

    def end(self, timeout: float = 30) -> int:
        """Read what is left; the exit code. A child still running after ``timeout``
        (waiting for an answer) is killed, and the test fails."""
        import select
        import signal

        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
                os.close(self.fd)
                raise AssertionError(f"still running; the terminal shows:\n{self.seen!r}")
            if not select.select([self.fd], [], [], min(left, 1))[0]:
                continue
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            self.seen += chunk
        _, status = os.waitpid(self.pid, 0)
        os.close(self.fd)
        return os.waitstatus_to_exitcode(status)
