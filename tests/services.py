"""A luigid of the tests' own, on a free port, and its JSON API.

Tests that need a central scheduler start one here, with settings that suit
tests (see README, "Running on several machines"): no 10 s cool-down after a
task is done, and a failed task pending again after a second. A worker is
given up on after ``disconnect_delay`` seconds without a ping: a minute by
default, so a worker starved of CPU on a busy machine is never taken for
dead; the multi-host test, which kills a host, sets a few seconds. ``prefix`` runs it inside a network namespace.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

SCHEDULER_CFG = """[scheduler]
retry_delay = 1
stable_done_cooldown_secs = 0
worker_disconnect_delay = {disconnect_delay}
prune_on_get_work = true
"""
#: Client settings: give up on a missing luigid in seconds, not minutes.
CLIENT_CFG = """[core]
rpc_connect_timeout = 5
rpc_retry_attempts = 2
rpc_retry_wait = 1
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(base: str, method: str, data: dict | None = None) -> dict:
    query = "?data=" + urllib.parse.quote(json.dumps(data)) if data is not None else ""
    with urllib.request.urlopen(f"{base}/api/{method}{query}", timeout=30) as response:  # a busy machine is slow, not down
        return json.loads(response.read())["response"]


class Luigid:
    """A running luigid; ``stop()`` ends it."""

    def __init__(self, folder: Path, address: str = "127.0.0.1", port: int | None = None, prefix: list[str] | None = None,
                 reachable: str | None = None, disconnect_delay: float = 60) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "luigi.cfg").write_text(SCHEDULER_CFG.format(disconnect_delay=disconnect_delay))
        self.port = port or free_port()
        cmd = [*(prefix or []), str(Path(sys.executable).parent / "luigid"), "--address", address, "--port", str(self.port),
               "--state-path", str(folder / "state.pickle"), "--logdir", str(folder)]
        self.proc = subprocess.Popen(cmd, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.host = reachable or address
        self.base = f"http://{self.host}:{self.port}"

    def wait_ready(self, probe=None, timeout: float = 30) -> None:
        """Wait until the API answers (``probe`` asks it from elsewhere, e.g. another namespace)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                (probe or (lambda: api(self.base, "task_list", {"status": "DONE"})))()
                return
            except (OSError, subprocess.CalledProcessError):
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise RuntimeError("luigid did not start") from None
                time.sleep(0.2)

    def stop(self) -> None:
        stop_process(self.proc)


def stop_process(proc: subprocess.Popen) -> None:
    """End a server: SIGTERM, and SIGKILL if it is still there 10 s later."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


#: Credentials the tests' S3 server accepts (moto takes any); the secret is recognisable, to check it is never printed.
S3_ENV = {"AWS_ACCESS_KEY_ID": "mr-luigi-test-key", "AWS_SECRET_ACCESS_KEY": "mr-luigi-test-SECRET-never-shown",
          "AWS_DEFAULT_REGION": "us-east-1"}


class S3Server:
    """An S3-compatible server (moto in server mode), on 127.0.0.1 for the test session; ``stop()`` ends it.

    ``prefix`` runs it inside a network namespace, listening on ``address``; ``reachable`` is the address others use.
    """

    def __init__(self, folder: Path, address: str = "127.0.0.1", prefix: list[str] | None = None,
                 reachable: str | None = None, probe=None, env: dict[str, str] | None = None) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://{reachable or address}:{self.port}"
        self.log = open(folder / "moto.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen([*(prefix or []), str(Path(sys.executable).parent / "moto_server"), "-H", address,
                                      "-p", str(self.port)], cwd=folder, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=None if env is None else {**os.environ, **env})
        deadline = time.monotonic() + 60
        while True:
            try:
                if probe is not None:
                    probe(self.url)
                else:
                    urllib.request.urlopen(self.url, timeout=5).read()
                return
            except urllib.error.HTTPError:  # it answers (a server checking credentials refuses an anonymous GET)
                return
            except (OSError, subprocess.CalledProcessError):
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"the S3 server did not start: see {folder / 'moto.log'}") from None
                time.sleep(0.2)

    def stop(self) -> None:
        stop_process(self.proc)
        self.log.close()
