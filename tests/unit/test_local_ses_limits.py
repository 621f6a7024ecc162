"""The embedded SES's limits: preflight in local mode reads config.json's ``local_ses`` and counts
today's sends from the outbox the embedded system keeps, not moto's fixed 200 a day at 1/s."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from changecast.bootstrap import Runtime
from changecast.customers.models import AppConfig, SimulatedSesLimits
from changecast.delivery.pacing import choose_rate
from changecast.delivery.preflight_service import Preflight
from changecast.errors import InvalidInputError
from changecast.local.demo import demo_config
from changecast.local.moto_store import MotoMail
from changecast.local.ses_simulator import SesSimulator, SimulatedMail
from changecast.local.state_mirror import mail_line
from changecast.local.system import LocalOptions, LocalSystem
from changecast.local_runtime import outbox_path, outbox_sent_since
from changecast.settings import Settings
from changecast.web.app import create_app
from tests.fakes.mail import FakeMail
from tests.fakes.preflight import FakePreflightAccess, FakeSesProbe
from tests.unit.test_preflight import contacts

NOW = datetime(2030, 3, 4, 12, 0, tzinfo=UTC)


class FixedClock:
    def now(self) -> datetime:
        return NOW


def write_outbox(data_dir: Path, account_id: str, sends: list[datetime]) -> None:
    """Outbox lines as ``local up``'s state mirror writes them, one message per send."""
    path = outbox_path(data_dir, account_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        for number, at in enumerate(sends):
            mail = MotoMail(
                message_id=f"m-{at.timestamp()}-{number}",
                source="change-notices@ccoe.example.com",
                destinations=(f"person-{number}@acme.example.com",),
                subject="s",
                body="b",
            )
            out.write(mail_line(mail, at) + "\n")


def local_runtime(tmp_path: Path, limits: SimulatedSesLimits | None) -> Runtime:
    config = demo_config(3, portal_url="http://127.0.0.1:8000")
    config = config.model_copy(update={"local_ses": limits})
    (tmp_path / "config.json").write_text(config.model_dump_json(exclude_none=True))
    settings = Settings(mode="local", data_dir=tmp_path, config=tmp_path / "config.json")
    return Runtime(settings=settings, clock=FixedClock())


def preflight(runtime: Runtime, audience: int) -> dict[str, tuple[str, str]]:
    """acme's checks (status, text) through the real preflight, its account moto-like."""
    probe = FakeSesProbe(max_24h=200, sent_24h=199, max_rate=1)  # moto's constants
    probe.verify_domain("ccoe.example.com")
    people = [f"p{n}@acme.example.com" for n in range(audience)]
    fake = FakePreflightAccess(probes={"acme": probe}, contact_lists={"acme": contacts(*people)})
    service = Preflight(
        access=runtime.local_preflight_access(fake),
        senders=("change-notices@ccoe.example.com",),
        domain="ccoe.example.com",
        clock=runtime.clock,
    )
    report = service.check(runtime.config.customer_mappings["acme"], ["aws-approval"])
    return {c.name.value: (c.status.value, c.reason) for c in report.checks}


def test_only_stamped_sends_of_the_last_24_hours_count(tmp_path: Path) -> None:
    account = "210000000000"
    write_outbox(tmp_path, account, [NOW - timedelta(hours=25)] * 3 + [NOW - timedelta(hours=1)])
    with outbox_path(tmp_path, account).open("a") as out:
        out.write('{"messageId": "old", "destinations": ["a@b.example"]}\n')  # no stamp
        out.write("not json\n")
    assert outbox_sent_since(tmp_path, account, NOW - timedelta(hours=24)) == 1
    assert outbox_sent_since(tmp_path, "210000000001", NOW - timedelta(hours=24)) == 0


def test_two_thousand_sends_today_pass_a_quota_set_higher(tmp_path: Path) -> None:
    runtime = local_runtime(tmp_path, SimulatedSesLimits(max_24_hour_send=5_000, max_send_rate=30))
    account = runtime.config.customer_mappings["acme"].account_id
    write_outbox(tmp_path, account, [NOW - timedelta(seconds=n) for n in range(2_000)])
    checks = preflight(runtime, audience=3)
    assert checks["daily_quota"] == ("pass", "3 emails of 3000 remaining today")
    assert checks["send_rate"][0] == "pass" and "30/s" in checks["send_rate"][1]


def test_a_quota_set_lower_than_the_sends_refuses_with_the_real_numbers(tmp_path: Path) -> None:
    runtime = local_runtime(tmp_path, SimulatedSesLimits(max_24_hour_send=2_001, max_send_rate=5))
    account = runtime.config.customer_mappings["acme"].account_id
    write_outbox(tmp_path, account, [NOW - timedelta(seconds=30 * n) for n in range(2_000)])
    checks = preflight(runtime, audience=3)
    assert checks["daily_quota"] == ("fail", "today's remaining quota is 1 emails; this sends 3")


def test_without_a_local_ses_section_the_defaults_apply(tmp_path: Path) -> None:
    runtime = local_runtime(tmp_path, None)
    checks = preflight(runtime, audience=2)
    assert checks["daily_quota"] == ("pass", "2 emails of 50000 remaining today")
    assert "14/s" in checks["send_rate"][1]


def test_the_reference_config_loads_without_the_section() -> None:
    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "ccm" / "config.json"
    config = AppConfig.model_validate_json(fixture.read_text())
    assert config.local_ses is None


def test_the_workers_pace_at_the_embedded_ses_rate_not_motos(tmp_path: Path) -> None:
    """The simulated account reports the operator's rate; the delivery's bucket uses it."""
    moto_like = FakeMail(rate=1.0)  # moto's MaxSendRate
    simulator = SesSimulator(publish=lambda *_: None)
    account = SimulatedMail(moto_like, simulator, "arn:topic", "210000000000", "us-east-1", 40.0)
    assert account.max_send_rate() == 40.0
    rate, source = choose_rate(from_ses=account.max_send_rate(), from_config=14.0)
    assert (rate, source) == (40.0, "ses")
    unset = SimulatedMail(moto_like, simulator, "arn:topic", "210000000000", "us-east-1")
    assert unset.max_send_rate() == 1.0


def limits_at_start(tmp_path: Path, **flags: Any) -> SimulatedSesLimits:
    system = LocalSystem(LocalOptions(data_dir=tmp_path, **flags), api=create_app)
    return system._ses_limits(tmp_path / "config.json")


def test_local_up_keeps_an_edited_config_json_unless_a_flag_says_otherwise(tmp_path: Path) -> None:
    assert limits_at_start(tmp_path) == SimulatedSesLimits(
        max_24_hour_send=50_000, max_send_rate=14
    )
    (tmp_path / "config.json").write_text(json.dumps({"local_ses": {"max_24_hour_send": 777}}))
    assert limits_at_start(tmp_path) == SimulatedSesLimits(max_24_hour_send=777, max_send_rate=14)
    assert limits_at_start(tmp_path, ses_rate=3.0) == SimulatedSesLimits(
        max_24_hour_send=777, max_send_rate=3.0
    )
    assert limits_at_start(tmp_path, ses_max_24h=9) == SimulatedSesLimits(
        max_24_hour_send=9, max_send_rate=14
    )


def test_an_invalid_local_ses_section_is_refused_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"local_ses": {"max_send_rate": -1}}))
    with pytest.raises(InvalidInputError, match="local_ses max_send_rate: Input should be greater"):
        limits_at_start(tmp_path)
