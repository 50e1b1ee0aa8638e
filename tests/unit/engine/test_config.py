"""Configuration: defaults load, bad files give one line naming the field and value."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from engine.config import load_config
from engine.core.errors import ConfigError


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "user.toml"
    p.write_text(text)
    return p


def test_default_config_loads_with_sim_venue_and_deployment() -> None:
    cfg = load_config()
    assert cfg.venue.kind == "sim"
    # The default deployment shows every symbol of the universe.
    assert set(cfg.deployment.agents) == set(cfg.universe.symbols)
    assert all(n >= 1 for n in cfg.deployment.agents.values())
    assert "BTC/USDT" in cfg.universe.symbols


def test_user_file_overrides_only_what_it_names(tmp_path: Path) -> None:
    cfg = load_config(_write(tmp_path, "[risk]\nmax_order_notional = 1234.0\n"))
    assert cfg.risk.max_order_notional == 1234.0
    assert cfg.risk.max_position_notional == load_config().risk.max_position_notional


@pytest.mark.parametrize(
    ("text", "must_contain"),
    [
        ("[risk]\nmax_order_notional = -5\n", "risk.max_order_notional = -5"),
        ("[venue]\nkind = 'binance'\n", "venue.kind = 'binance'"),
        ("[universe]\nsymbols = ['BTCUSDT']\n", "universe.symbols"),
        ("[risk]\nmax_ordr_notional = 5\n", "risk.max_ordr_notional"),
        ("[deployment.agents]\n'DOGE/USDT' = 1\n", "DOGE/USDT"),
        ("[cerebellum]\ncmd_endpoint = 'http://x'\n", "cerebellum.cmd_endpoint = 'http://x'"),
    ],
)
def test_bad_value_gives_one_line_naming_field_and_value(
    tmp_path: Path, text: str, must_contain: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, text))
    message = str(info.value)
    assert must_contain in message
    assert "\n" not in message


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "[risk\nmax = 1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")


def test_cli_with_malformed_config_exits_2_without_traceback(tmp_path: Path) -> None:
    path = _write(tmp_path, "[risk]\nmax_order_notional = 'lots'\n")
    proc = subprocess.run(
        [sys.executable, "-m", "cockpit", "run", "--headless", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "risk.max_order_notional = 'lots'" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
