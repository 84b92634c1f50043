"""One run at a time in a run folder: an exclusive lock with the holder's pid, host and start.

Two runs writing into one folder used to clash silently (the folder ending with the second
run's tables under the first run's summary) or crash each other. :func:`acquire_run_lock`
takes an exclusive ``flock`` on ``<run folder>/.channelops-run.lock`` and writes into it
who holds it (pid, host, run name, start time, command). A second run is refused at once
with :class:`RunLocked`, whose message names the running one.

The operating system releases a ``flock`` when its process ends, however it ends, so a
run killed with SIGKILL leaves no lock that blocks the next run: the file is still there
with the dead run's details, the lock on it is free, and the next run takes it over and
says so (:attr:`RunLock.stale`). A lock file written by a run on another host whose lock
is free is not taken over (a ``flock`` may not reach across machines on a shared file
system); the message says to remove the file once that run is known to be over.
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import json
import os
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from channelops.run.folder import RunFolderError

__all__ = ["LOCK_NAME", "RunLock", "RunLocked", "acquire_run_lock", "lock_holder"]

#: The lock file inside a run folder.
LOCK_NAME = ".channelops-run.lock"


class RunLocked(RunFolderError):
    """Another run holds the run folder; the message names it and what to do."""


@dataclass
class RunLock:
    """A held run lock: release it with :meth:`release` (or use it as a context manager).

    Attributes:
        path: the lock file.
        holder: what this run wrote into it (pid, host, run_name, started_at, command).
        stale: the details a run that ended without releasing the lock left in the file
            (killed, or its machine stopped), or None when the lock was free and clean.
    """

    path: Path
    fd: int
    holder: dict[str, Any]
    stale: dict[str, Any] | None = None

    def release(self) -> None:
        """Remove the lock file and let go of the lock (removed first, while still held, so
        a run waiting on the old file sees it is gone and takes a fresh one)."""
        if self.fd < 0:
            return
        try:
            self.path.unlink(missing_ok=True)
        except OSError:
            pass  # a read-only or full folder: the flock is released with the file anyway
        os.close(self.fd)
        self.fd = -1

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read(fd: int) -> dict[str, Any] | None:
    """The holder details in an open lock file, or None when it is empty or unreadable."""
    try:
        raw = os.pread(fd, 64 * 1024, 0)
        data = json.loads(raw.decode("utf-8")) if raw.strip() else None
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def lock_holder(run_folder: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The details in a run folder's lock file (held or stale), or None when there is none."""
    path = Path(run_folder) / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        return _read(fd)
    finally:
        os.close(fd)


def _describe(holder: dict[str, Any] | None) -> str:
    """``run 'ci' (pid 123 on host h, started 2026-...: channelops run ...)``."""
    if not holder:
        return "another run (its lock file holds no details)"
    command = holder.get("command")
    return (
        f"run {holder.get('run_name', '?')!r} (pid {holder.get('pid', '?')} on host "
        f"{holder.get('host', '?')}, started {holder.get('started_at', '?')}"
        + (f": {command}" if command else "")
        + ")"
    )


def _pid_alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def _flock(fd: int) -> str:
    """Try the exclusive lock without waiting: "taken", "busy" (another process holds it) or
    "unsupported" (a file system without ``flock``, such as some network mounts)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return "busy"
    except OSError as err:
        if err.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
            raise
        return "unsupported"
    return "taken"


def acquire_run_lock(run_folder: str | os.PathLike[str], run_name: str) -> RunLock:
    """Take the run folder's lock or refuse at once; the folder must exist.

    Args:
        run_folder: the run folder.
        run_name: written into the lock file, for the message another run would print.

    Returns:
        The held lock; its ``stale`` says whether a dead run's lock was taken over.

    Raises:
        RunLocked: another run holds the folder (its pid, host, run name, start time and
            command in the message), or a lock of a run on another host was left behind.
        OSError: the lock file cannot be created (a read-only or full folder).
    """
    path = Path(run_folder) / LOCK_NAME
    host = socket.gethostname()
    for _ in range(20):
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            state = _flock(fd)
        except BaseException:
            os.close(fd)
            raise
        held_by_other = state == "busy"
        if state == "unsupported":  # then a live process named in the file holds it
            other = _read(fd)
            held_by_other = bool(
                other and other.get("host") == host and _pid_alive(other.get("pid"))
            )
        if held_by_other:
            holder = _read(fd)
            for _ in range(40):  # a run that has just taken the lock writes its details next
                if holder:
                    break
                time.sleep(0.05)
                holder = _read(fd)
            os.close(fd)
            raise RunLocked(
                f"run folder {run_folder} is in use by {_describe(holder)}. Two runs into "
                "one folder would mix their tables: wait for that run to end, or give this "
                f"one another folder (--output DIR or another run_name). Lock file: {path}"
            )
        try:
            same_file = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same_file = False
        if not same_file:  # the holder released (removed) it while we waited: retry
            os.close(fd)
            continue
        previous = _read(fd)
        if previous and previous.get("host") not in (None, host):
            os.close(fd)
            raise RunLocked(
                f"run folder {run_folder} has the lock of {_describe(previous)}, another "
                "machine: this machine cannot tell whether that run still writes here. Once it "
                f"is known to be over, remove {path} and start again."
            )
        holder = {
            "pid": os.getpid(),
            "host": host,
            "run_name": run_name,
            "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])[:500],
        }
        try:
            data = json.dumps(holder).encode("utf-8") + b"\n"
            os.ftruncate(fd, 0)
            os.pwrite(fd, data, 0)
        except BaseException:
            os.close(fd)
            raise
        return RunLock(path=path, fd=fd, holder=holder, stale=previous)
    raise RunLocked(f"run folder {run_folder}: could not take the lock {path} (it kept changing)")
