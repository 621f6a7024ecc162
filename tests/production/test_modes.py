"""The mode is explicit: a stale or foreign local.json never turns a process into local mode."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from pydantic import SecretStr

from changecast.bootstrap import resolve_settings
from changecast.errors import InvalidInputError
from changecast.local_runtime import LocalCustomer, LocalRuntime, process_identity, write_runtime
from changecast.settings import ConfigLocation, Settings, WebSettings, load_settings

SECRET = SecretStr("s" * 40)


def local_json(data_dir: Path, *, pid: int, process: str | None) -> None:
    customer = LocalCustomer(account_id="210000000000", queue_url="http://q", dlq_url="http://d")
    runtime = LocalRuntime(
        aws_endpoint_url="http://127.0.0.1:1",
        portal_url="http://127.0.0.1:2",
        bucket="changecast-local",
        hub_account_id="123456789012",
        customers={"acme": customer},
        pid=pid,
        process=process,
    )
    write_runtime(data_dir, runtime)


def dead_pid() -> int:
    pid = 4_000_000
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            pass
        pid -= 1


def genuine(data_dir: Path) -> None:
    local_json(data_dir, pid=os.getpid(), process=process_identity(os.getpid()))


def test_a_cli_command_on_a_live_local_up_runs_in_local_mode(tmp_path: Path) -> None:
    genuine(tmp_path)
    settings, local = resolve_settings(Settings(data_dir=tmp_path))
    assert settings.mode == "local"
    assert local is not None
    assert settings.aws_endpoint_url == "http://127.0.0.1:1"


@pytest.mark.parametrize("kind", ["dead", "foreign-pid-reused", "copied-from-another-host"])
def test_a_stale_or_foreign_local_json_is_ignored(tmp_path: Path, kind: str) -> None:
    if kind == "dead":
        local_json(tmp_path, pid=dead_pid(), process=None)
    elif kind == "foreign-pid-reused":  # a live pid, but not the process that wrote the file
        local_json(tmp_path, pid=os.getpid(), process="host/boot/1")
    else:
        mine = process_identity(os.getpid())
        assert mine is not None
        local_json(tmp_path, pid=os.getpid(), process="elsewhere" + mine[mine.index("/") :])
    settings, local = resolve_settings(Settings(data_dir=tmp_path))
    assert (settings.mode, local) == ("aws", None)
    assert settings.dev_login_enabled is False


@pytest.mark.parametrize("process", ["portal", "worker"])
def test_deployed_processes_never_read_local_json(tmp_path: Path, process: str) -> None:
    genuine(tmp_path)  # even a live local up on the same data directory
    settings, local = resolve_settings(Settings(data_dir=tmp_path), process=process)  # type: ignore[arg-type]
    assert (settings.mode, local) == ("aws", None)


def test_explicit_aws_mode_ignores_a_live_local_up(tmp_path: Path) -> None:
    genuine(tmp_path)
    settings, local = resolve_settings(Settings(mode="aws", data_dir=tmp_path, dev_login=False))
    assert (settings.mode, local) == ("aws", None)


def test_explicit_local_mode_without_local_up_says_how_to_start_it(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="no `changecast local up` runs on"):
        resolve_settings(Settings(mode="local", data_dir=tmp_path))
    moto = Settings(mode="local", data_dir=tmp_path, aws_endpoint_url="http://127.0.0.1:5000")
    assert resolve_settings(moto) == (moto, None)  # an embedded AWS of its own


def test_dev_login_is_refused_in_aws_mode() -> None:
    with pytest.raises(InvalidInputError, match="CHANGECAST_DEV_LOGIN"):
        load_settings(mode="aws", dev_login=True)


def test_aws_mode_names_every_missing_setting() -> None:
    settings = Settings(mode="aws")
    with pytest.raises(InvalidInputError) as caught:
        settings.require_for("portal")
    message = caught.value.message
    for name in ("CHANGECAST_WEB__SESSION_SECRET", "CHANGECAST_DATABASE_URL", "CHANGECAST_CONFIG"):
        assert name in message
    worker = Settings(mode="aws", database_url="sqlite://", config="s3://b-1/config.json")
    worker.require_for("worker")  # a worker signs no cookies
    portal = Settings(mode="aws", database_url="sqlite://", config="/etc/c.json")
    with pytest.raises(InvalidInputError, match="SESSION_SECRET") as only:
        portal.require_for("portal")
    assert "DATABASE_URL" not in only.value.message
    Settings(mode="local").require_for("portal")  # local mode makes its own


def test_a_short_session_secret_is_refused_outside_local_mode() -> None:
    with pytest.raises(InvalidInputError, match="at least 32"):
        load_settings(web=WebSettings(session_secret=SecretStr("short")))
    assert load_settings(web=WebSettings(session_secret=SECRET)).web.session_secret == SECRET


def test_config_locations() -> None:
    s3 = ConfigLocation.parse("s3://my-bucket/config/config.json")
    assert (s3.bucket, s3.key) == ("my-bucket", "config/config.json")
    assert str(s3.sibling("SESConfig.json")) == "s3://my-bucket/config/SESConfig.json"
    assert str(ConfigLocation.parse("s3://my-bucket/c.json").sibling("S.json")) == (
        "s3://my-bucket/S.json"
    )
    local = ConfigLocation.parse("/etc/changecast/config.json")
    assert local.sibling("SESConfig.json").path == Path("/etc/changecast/SESConfig.json")
    for bad in ("s3://", "s3://bucket", "s3://UPPER/key", "https://example.com/config.json"):
        with pytest.raises(InvalidInputError, match="CHANGECAST_CONFIG"):
            ConfigLocation.parse(bad)
    settings = Settings(config="s3://my-bucket/config/config.json")
    assert str(settings.ses_config_location) == "s3://my-bucket/config/SESConfig.json"
    with pytest.raises(InvalidInputError, match="in S3"):
        _ = settings.config_path


def test_proxies_are_a_list_of_addresses_and_never_everyone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CHANGECAST_WEB__FORWARDED_ALLOW_IPS", "10.0.0.0/16, 192.168.1.7")
    assert load_settings().web.forwarded_allow_ips == ["10.0.0.0/16", "192.168.1.7"]
    monkeypatch.setenv("CHANGECAST_WEB__FORWARDED_ALLOW_IPS", "*")
    with pytest.raises(InvalidInputError, match="every client"):
        load_settings()
    monkeypatch.setenv("CHANGECAST_WEB__FORWARDED_ALLOW_IPS", "not-an-ip")
    with pytest.raises(InvalidInputError, match="not an IP"):
        load_settings()


def test_local_up_records_who_wrote_local_json(tmp_path: Path) -> None:
    genuine(tmp_path)
    written = json.loads((tmp_path / "local.json").read_text())
    assert written["process"] == process_identity(os.getpid())


def test_a_portal_asked_for_dev_login_outside_local_mode_refuses_to_start(tmp_path: Path) -> None:
    from changecast.bootstrap import build_runtime

    with pytest.raises(InvalidInputError, match="DEV_LOGIN"):
        build_runtime(Settings(data_dir=tmp_path, dev_login=True), process="portal")


def test_a_process_asked_for_self_approval_outside_local_mode_refuses_to_start(
    tmp_path: Path,
) -> None:
    from changecast.bootstrap import build_runtime

    for process in ("portal", "worker", "cli"):
        with pytest.raises(InvalidInputError, match="ALLOW_SELF_APPROVAL") as refused:
            build_runtime(Settings(data_dir=tmp_path, allow_self_approval=True), process=process)
        assert "\n" not in refused.value.message and "aws mode" in refused.value.message
    with pytest.raises(InvalidInputError, match="ALLOW_SELF_APPROVAL"):
        load_settings(mode="aws", allow_self_approval=True)
