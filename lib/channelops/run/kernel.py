"""The notebooks' side of a run: the project's Jupyter kernel and papermill.

Where the stage notebooks are, the ``channelops`` kernel spec of this Python, the
parameters each notebook declares, and executing one notebook in its own kernel (told which
stage it is, registered so an interrupt can stop it, its peak memory read back).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import papermill
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, logger, papermill_engines
from papermill.exceptions import PapermillExecutionError

from channelops.run.folder import STAGE_ENV
from channelops.run.manifest import write_json
from channelops.run.params import ParamSpec, RunParams
from channelops.run.registry import Stage

__all__ = [
    "KERNEL_NAME",
    "project_root",
    "notebooks_dir",
    "ensure_kernel",
    "notebook_param_specs",
    "StageKernels",
    "execute_stage_notebook",
    "kernel_log_path",
    "stage_kernel_manager",
    "notebook_error",
    "prepare_notebooks",
]

KERNEL_NAME = "channelops"


def project_root() -> Path:
    """The repository folder (the one holding ``notebooks/`` and ``lib/``)."""
    return Path(__file__).resolve().parents[3]


def notebooks_dir() -> Path:
    """The folder of the stage notebooks."""
    return project_root() / "notebooks"


def _kernel_spec() -> dict[str, Any]:
    """The ``kernel.json`` of the ``channelops`` kernel: this Python, quiet, inline figures."""
    return {
        # log level CRITICAL: ipykernel's start-up and shutdown chatter (plain-TCP warning,
        # the interrupt used to stop it) is not a problem of the run and must not look like one
        "argv": [
            sys.executable,
            "-m",
            "ipykernel_launcher",
            "-f",
            "{connection_file}",
            "--IPKernelApp.log_level=CRITICAL",
        ],
        "display_name": "Python (channelops)",
        "language": "python",
        # figures must be captured into the notebook (and so the report), whatever backend
        # the calling process uses (tests run with Agg)
        "env": {"MPLBACKEND": "module://matplotlib_inline.backend_inline"},
        "metadata": {"debugger": True},
    }


def ensure_kernel() -> str:
    """Make the ``channelops`` kernel of *this* Python the one Jupyter finds.

    The kernel spec lives in ``<sys.prefix>/share/jupyter/kernels/channelops``; it is put
    first on ``JUPYTER_PATH`` so that a kernel of the same name elsewhere on the machine
    (another clone, a user-wide install) is never used. Written here if absent or stale.

    Returns:
        The kernel name.
    """
    share = Path(sys.prefix) / "share" / "jupyter"
    paths = [str(share)] + [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]
    os.environ["JUPYTER_PATH"] = os.pathsep.join(dict.fromkeys(paths))
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    spec_dir = share / "kernels" / KERNEL_NAME
    wanted = _kernel_spec()
    spec = spec_dir / "kernel.json"
    try:
        current = json.loads(spec.read_text()) if spec.exists() else None
    except (OSError, json.JSONDecodeError):
        current = None
    if current != wanted:
        # written under a temporary name and renamed: two runs starting at once never see
        # a half-written spec
        spec_dir.mkdir(parents=True, exist_ok=True)
        write_json(spec, wanted)
    return KERNEL_NAME


def notebook_param_specs(notebooks: list[Path]) -> dict[str, ParamSpec]:
    """Collect the parameters declared in the notebooks' ``parameters`` cells."""
    specs: dict[str, ParamSpec] = {}
    for nb in notebooks:
        for name, info in papermill.inspect_notebook(str(nb)).items():
            previous = specs.get(name)
            owners = (previous.notebooks if previous else ()) + (nb.name,)
            specs[name] = ParamSpec(
                name=name,
                type_name=info.get("inferred_type_name") or None,
                default=str(info.get("default")),
                help=str(info.get("help") or ""),
                notebooks=owners,
            )
    return specs


class StageKernels:
    """The kernels of running stages, so an interrupt can stop them from the main thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._managers: dict[str, Any] = {}

    def add(self, key: str, km: Any) -> None:
        with self._lock:
            self._managers[key] = km

    def remove(self, key: str) -> None:
        with self._lock:
            self._managers.pop(key, None)

    def stop_all(self) -> None:
        """Kill every registered kernel (and its process group): the stage then fails fast."""
        with self._lock:
            managers = list(self._managers.values())
        for km in managers:
            process = getattr(getattr(km, "provisioner", None), "process", None)
            if process is None:
                continue
            try:
                os.killpg(os.getpgid(process.pid), signal.SIGKILL)
            except (ProcessLookupError, PermissionError, OSError):
                try:
                    process.kill()
                except Exception:  # noqa: BLE001 - already gone
                    pass


def _peak_rss_bytes(pid: int | None) -> int | None:
    """Peak resident memory of process ``pid`` so far (Linux ``VmHWM``), or None if unknown."""
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _kernel_pid(km: Any) -> int | None:
    provisioner = getattr(km, "provisioner", None)
    process = getattr(provisioner, "process", None)
    return getattr(process, "pid", None)


def _stage_engine(km: Any, env: dict[str, str], cwd: Path, log: Any) -> type[NBClientEngine]:
    """A papermill engine that runs the notebook in kernel ``km`` with ``env`` and ``cwd``,
    the kernel process's standard output and error going to the open file ``log``.

    The environment and working folder go to the kernel only: the runner's own (which stages
    running side by side share) are left alone.
    """

    class _StageEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, **kwargs):  # noqa: ANN001
            passed = ("log_output", "stdout_file", "stderr_file")
            client = PapermillNotebookClient(
                nb_man,
                km=km,
                kernel_name=kernel_name,
                log=logger,
                startup_timeout=kwargs.get("start_timeout", 60),
                **{k: v for k, v in kwargs.items() if k in passed},
            )
            return client.execute(env=env, cwd=str(cwd), stdout=log, stderr=log)

    return _StageEngine


def kernel_log_path(target: Path) -> Path:
    """Where the kernel of the notebook executed into ``target`` writes its own output
    (``<stem>.kernel.log`` beside it)."""
    return target.with_name(f"{target.stem}.kernel.log")


#: Longest folder for a kernel's sockets: a Unix socket path has at most 107 bytes.
_MAX_SOCKET_DIR = 60


def stage_kernel_manager(kernel: str) -> tuple[AsyncKernelManager, Path]:
    """A kernel manager whose kernel talks over Unix sockets in a new private folder.

    Jupyter's default transport is TCP on 127.0.0.1, on ports picked free when the kernel
    starts and released when it stops. On a machine where many kernels start and stop (runs
    side by side, test suites, JupyterLab), a client still retrying a port another kernel
    had can reach a new kernel that got the same port: its heartbeat ``ping`` then arrives
    at the kernel's control channel, which prints ``ValueError: DELIM not in msg_list``
    through tornado's logger, once a second, onto the run's console. With the ``ipc``
    transport each socket is a file in a folder only this kernel uses (mode 0700), so no
    other process can ever land on it.

    Returns:
        the manager and the folder (remove it once the kernel has stopped). On Windows,
        where ZeroMQ has no Unix sockets, the manager keeps Jupyter's TCP default.
    """
    base = tempfile.gettempdir()
    if len(base) > _MAX_SOCKET_DIR or not os.access(base, os.W_OK):
        base = "/tmp"
    folder = Path(tempfile.mkdtemp(prefix="channelops-k-", dir=base))
    if os.name == "nt":  # no Unix sockets for ZeroMQ on Windows: the default TCP ports
        return AsyncKernelManager(kernel_name=kernel), folder
    return AsyncKernelManager(kernel_name=kernel, transport="ipc", ip=str(folder / "k")), folder


def execute_stage_notebook(
    source: Path,
    target: Path,
    values: dict[str, Any],
    kernel: str,
    cwd: Path,
    stage_key: str,
    kernels: StageKernels,
    progress_bar: Any,
) -> int | None:
    """Run one notebook with papermill in its own kernel, told which stage it is.

    The kernel gets ``CHANNELOPS_STAGE`` in its own environment (not the runner's, which
    stages running side by side share) and is registered in ``kernels`` so an interrupt
    can shut it down. It talks over private Unix sockets (:func:`stage_kernel_manager`),
    and what its process writes outside the notebook (its own log, native libraries, a
    Spark JVM) goes to :func:`kernel_log_path` instead of the run's console; an empty log
    is removed.

    Returns:
        the kernel's peak resident memory in bytes (Linux; None where unknown). Processes
        the kernel starts (a Spark JVM) are not included.
    """
    km, socket_dir = stage_kernel_manager(kernel)
    log_path = kernel_log_path(target)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("wb")
    name = f"channelops-stage-{stage_key}"
    env = {**os.environ, STAGE_ENV: stage_key}
    papermill_engines.register(name, _stage_engine(km, env, cwd, log))
    kernels.add(stage_key, km)
    peak = None
    try:
        papermill.execute_notebook(
            str(source),
            str(target),
            parameters=values,
            kernel_name=kernel,
            # no cwd here: papermill would chdir the whole process, which stages running
            # side by side share; the kernel gets its cwd from the engine instead
            engine_name=name,
            progress_bar=progress_bar,
            log_output=False,
        )
        peak = _peak_rss_bytes(_kernel_pid(km))
    finally:
        kernels.remove(stage_key)
        try:
            if km.has_kernel:
                run_sync(km.shutdown_kernel)(now=True)
        except Exception:  # noqa: BLE001 - the kernel may already be gone
            pass
        log.close()
        shutil.rmtree(socket_dir, ignore_errors=True)
        if log_path.exists() and log_path.stat().st_size == 0:
            log_path.unlink()
    return peak


def notebook_error(exc: BaseException, notebook: Path) -> dict[str, Any]:
    """The manifest's ``error`` entry for a stage that raised ``exc`` running ``notebook``.

    A notebook error names its cell and execution count; anything else (the kernel died,
    papermill could not start) only its type and message.
    """
    if isinstance(exc, PapermillExecutionError):
        return {
            "notebook": str(notebook),
            "cell": exc.cell_index,
            "execution_count": exc.exec_count,
            "error": exc.ename,
            "message": str(exc.evalue)[:2000],
        }
    return {"notebook": str(notebook), "error": type(exc).__name__, "message": str(exc)[:2000]}


def prepare_notebooks(
    params: RunParams,
    stages: list[Stage],
    into: Path,
    output_dir: Path,
    declared: dict[str, set[str]],
    notebook_folder: Path | None = None,
) -> list[Path]:
    """Write parameterised, unexecuted copies of the notebooks (for ``pytest --nbval-lax``).

    papermill injects the parameters cell exactly as in a run, without executing, so nbval
    then runs the same notebooks on the same parameters, cell by cell. Copies keep their
    names: pytest runs a folder's files in name order, which is the run order (every stage
    reads only tables of stages with a smaller number, see
    :func:`channelops.run.registry.check_registry`).
    """
    ensure_kernel()
    folder = notebook_folder or notebooks_dir()
    into.mkdir(parents=True, exist_ok=True)
    for old in into.glob("*.ipynb"):
        old.unlink()
    out = []
    for stage in stages:
        names = declared.get(stage.notebook, set())
        values = params.for_notebook(names, output_dir)
        target = into / stage.notebook
        papermill.execute_notebook(
            str(folder / stage.notebook),
            str(target),
            parameters=values,
            prepare_only=True,
            kernel_name=KERNEL_NAME,
            progress_bar=False,
        )
        out.append(target)
    return out
