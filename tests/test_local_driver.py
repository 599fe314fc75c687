"""The local process pool, as a real process tree."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent(
    """
    import sys, time
    from imagenet_cli.drivers.local import local_map

    def slow(batch):
        time.sleep(60)
        return batch

    if __name__ == "__main__":
        for _ in local_map(slow, range(8), workers=2):
            pass
    """
)


def _children(pid: int) -> list[int]:
    tasks = Path(f"/proc/{pid}/task")
    found = []
    for task in tasks.iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")
def test_workers_end_when_the_main_process_is_killed(tmp_path: Path) -> None:
    # SIGKILL (or the OOM killer) gives the main process no chance to stop its
    # workers; they must not wait on the task queue for ever.
    script = tmp_path / "pool.py"
    script.write_text(SCRIPT)
    proc = subprocess.Popen([sys.executable, str(script)], start_new_session=True)
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 30
        while len(workers) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
            workers = _children(proc.pid)
        assert len(workers) >= 2, workers
        proc.kill()
        proc.wait()
        deadline = time.monotonic() + 10
        while any(_alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(w) for w in workers), "workers outlived their main process"
    finally:
        for pid in (proc.pid, *workers):  # whatever the outcome, nothing is left running
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        proc.wait()


def test_a_worker_started_after_its_main_process_died_ends() -> None:
    # Killed while its pool was starting, the main process is gone before a worker's
    # setup runs: the worker must not take its new parent (the reaper) for its main one.
    gone = subprocess.Popen(["true"])
    gone.wait()
    code = (
        "import time\nfrom imagenet_cli.drivers.local import worker_setup\n"
        f"worker_setup({gone.pid})\ntime.sleep(30)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], timeout=20, capture_output=True)
    assert proc.returncode == 1
