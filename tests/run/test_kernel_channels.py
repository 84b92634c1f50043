"""A stage's kernel keeps its channels to itself and its own output off the run's console.

One run in five printed ``ERROR:tornado.general ... ValueError: DELIM not in msg_list``
tracebacks: a message that is not Jupyter's (a heartbeat ``ping`` of some other client
still retrying a port a kernel had before) reached a kernel's control channel, and the
kernel's log went to the console. The test sends such a message to the kernel's own
control socket from inside the notebook: the traceback must land in the stage's kernel log,
never on the console, and the kernel must be reachable only through its private sockets.
"""

from __future__ import annotations

import json

from _builders import stage_notebook
from channelops.run.kernel import kernel_log_path, stage_kernel_manager
from channelops.run.params import RunParams
from channelops.run.registry import Stage
from channelops.run.runner import run_stages

FOREIGN_PING = """\
import json, time, zmq
from ipykernel.connect import get_connection_info
info = json.loads(get_connection_info())
sock = zmq.Context.instance().socket(zmq.DEALER)
sock.connect(f"{info['transport']}://{info['ip']}-{info['control_port']}")
sock.send(b"ping")  # one frame, no Jupyter envelope: what a stray heartbeat sends
time.sleep(1.0)
print(info["transport"])
"""


def test_a_foreign_message_on_the_control_channel_stays_off_the_console(tmp_path, capfd):
    nbs, out = tmp_path / "nbs", tmp_path / "run"
    nbs.mkdir()
    stage_notebook(nbs / "ping.ipynb", FOREIGN_PING)
    stage = Stage("05", "order_logistics", "ping.ipynb", "p", outputs=())
    notes: list[str] = []
    m = run_stages(RunParams(run_name="t", dataset=tmp_path, seed=0), [stage], out,
                   notebook_folder=nbs, progress=False, report=False,
                   echo=notes.append)  # fmt: skip
    console = capfd.readouterr()
    assert m["status"] == "ok"
    assert "DELIM" not in console.err + console.out and "Traceback" not in console.err
    log = kernel_log_path(out / "notebooks" / "ping.ipynb")
    assert "ValueError: DELIM not in msg_list" in log.read_text()
    entry = m["stages"]["05"]["kernel_log"]
    assert entry["file"] == "notebooks/ping.kernel.log" and entry["lines"] > 3
    assert any(f"they are in {log}" in n for n in notes)
    nb = json.loads((out / "notebooks" / "ping.ipynb").read_text())
    printed = "".join("".join(o.get("text", "")) for o in nb["cells"][-1]["outputs"])
    assert printed.strip() == "ipc"  # the kernel's sockets are files, not TCP ports


def test_each_kernel_gets_its_own_private_socket_folder():
    (a, folder_a), (b, folder_b) = stage_kernel_manager("channelops"), stage_kernel_manager("x")
    try:
        assert a.transport == b.transport == "ipc"
        assert folder_a != folder_b and a.ip.startswith(str(folder_a))
        assert folder_a.stat().st_mode & 0o777 == 0o700
        assert len(f"{a.ip}-99999") < 100  # a Unix socket path has at most 107 bytes
    finally:
        folder_a.rmdir()
        folder_b.rmdir()
