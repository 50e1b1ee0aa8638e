"""CoreProcess: start, watch and stop the cerebellum_core binary.

The engine writes the core's JSON config (derived from its own configuration,
with ``cerebellum.core`` merged over it), starts ``cerebellum_core serve`` with
``--parent-pid`` so the core never outlives the engine, and waits for its
``READY`` line. A reader thread forwards the core's output to the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from engine.config import REPO_ROOT, CrucibleConfig
from engine.core.errors import OperationalError

log = logging.getLogger(__name__)


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = (
            _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
        )
    return out


def resolve_binary(config: CrucibleConfig) -> Path:
    """The core binary: absolute, or relative to paths.root, else to the repository."""
    p = config.cerebellum.binary
    if p.is_absolute():
        return p
    for base in (config.paths.root, REPO_ROOT):
        candidate = (base / p).resolve()
        if candidate.is_file():
            return candidate
    return (REPO_ROOT / p).resolve()


def core_config(config: CrucibleConfig, cmd_endpoint: str, md_endpoint: str) -> dict[str, Any]:
    """The JSON configuration handed to ``cerebellum_core serve --config``."""
    cb, risk = config.cerebellum, config.risk
    base: dict[str, Any] = {
        "cmd_endpoint": cmd_endpoint,
        "md_endpoint": md_endpoint,
        "venue": config.venue.kind,
        "session": {
            "heartbeat_interval_ms": cb.heartbeat_interval_ms,
            "deadman_timeout_ms": cb.deadman_timeout_ms,
        },
        "sim": {"seed": cb.seed},
        "risk": {
            "max_order_notional": risk.max_order_notional,
            "max_position_notional": risk.max_position_notional,
            "max_total_exposure": risk.max_total_exposure,
            "collar_bps": risk.collar_bps,
            "max_mid_age_ms": risk.max_mid_age_ms,
            "max_orders_per_sec_strategy": max(1, int(risk.max_strategy_orders_per_sec)),
            "max_orders_per_sec_total": max(1, int(risk.max_orders_per_sec_total)),
        },
        "bybit": {"testnet": config.venue.testnet},
    }
    return _deep_merge(base, cb.core)


def default_endpoints(runtime_dir: Path) -> tuple[str, str]:
    return f"ipc://{runtime_dir / 'cmd.sock'}", f"ipc://{runtime_dir / 'md.sock'}"


class CoreProcess:
    """One cerebellum_core child process (or none, when attaching to a running core)."""

    def __init__(self, config: CrucibleConfig) -> None:
        self._config = config
        runtime = config.paths.runtime_dir
        self._own_runtime_dir = runtime is None
        if runtime is None:
            runtime = Path(tempfile.mkdtemp(prefix="crucible-"))
        else:
            runtime = config.paths.resolve(runtime)
            runtime.mkdir(parents=True, exist_ok=True)
        self.runtime_dir = runtime
        default_cmd, default_md = default_endpoints(runtime)
        self.cmd_endpoint = config.cerebellum.cmd_endpoint or default_cmd
        self.md_endpoint = config.cerebellum.md_endpoint or default_md
        self._proc: subprocess.Popen[str] | None = None
        self._ready = threading.Event()
        self._reader: threading.Thread | None = None
        self.restarts = 0

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return self._proc.poll() if self._proc else None

    def _spawn(self) -> None:
        binary = resolve_binary(self._config)
        if not binary.is_file():
            raise OperationalError(
                f"cerebellum_core binary not found at {binary}; run `make setup` to build it"
            )
        cfg_path = self.runtime_dir / "cerebellum.json"
        cfg_path.write_text(
            json.dumps(core_config(self._config, self.cmd_endpoint, self.md_endpoint), indent=2)
        )
        args = [str(binary), "serve", "--config", str(cfg_path), "--parent-pid", str(os.getpid())]
        self._ready.clear()
        self._proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            start_new_session=True,  # a Ctrl+C in the terminal reaches the engine, which stops the core
        )
        self._reader = threading.Thread(
            target=self._pump, args=(self._proc,), name="cerebellum-output", daemon=True
        )
        self._reader.start()
        log.info("started cerebellum_core pid %d (%s)", self._proc.pid, self.cmd_endpoint)

    def _pump(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        core_log = logging.getLogger("cerebellum")
        for line in proc.stdout:
            line = line.rstrip()
            if line.startswith("READY"):
                self._ready.set()
            if line:
                core_log.info("%s", line)

    async def start(self) -> None:
        """Start the core and wait until it has bound its sockets."""
        await asyncio.get_running_loop().run_in_executor(None, self._start_blocking)

    def _start_blocking(self) -> None:
        self._spawn()
        deadline = time.monotonic() + self._config.cerebellum.startup_timeout_s
        while not self._ready.wait(0.05):
            if not self.running:
                raise OperationalError(
                    f"cerebellum_core exited during startup with code {self.returncode}"
                )
            if time.monotonic() > deadline:
                self._stop_blocking()
                raise OperationalError("cerebellum_core did not become ready in time")

    async def restart(self) -> None:
        await self.stop()
        self.restarts += 1
        await self.start()

    async def stop(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self._stop_blocking)

    def _stop_blocking(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(2.0)
            except subprocess.TimeoutExpired:
                log.warning("cerebellum_core did not stop on SIGTERM; killing it")
                proc.kill()
                proc.wait(2.0)
        if self._reader is not None:
            self._reader.join(1.0)
        log.info("cerebellum_core stopped (exit code %s)", proc.returncode)

    def cleanup(self) -> None:
        """Remove the private runtime directory (sockets, core config) if we made it."""
        if self._own_runtime_dir:
            shutil.rmtree(self.runtime_dir, ignore_errors=True)
