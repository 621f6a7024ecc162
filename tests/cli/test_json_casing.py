"""``--output json`` is camelCase everywhere in the CLI, like the API; data keys stay as is."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from changecast.cli.json_output import camel_json, camel_key
from tests.cli.ses_harness import World, moto_world

SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")


class Plain(BaseModel):
    contact_list: str
    create_list: bool
    note: str | None = None


class Aliased(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)
    change_id: str


def snake_keys(value: Any) -> list[str]:
    """Every snake_case key anywhere in a JSON document."""
    if isinstance(value, dict):
        own = [k for k in value if SNAKE.match(k)]
        return own + [k for v in value.values() for k in snake_keys(v)]
    if isinstance(value, list):
        return [k for v in value for k in snake_keys(v)]
    return []


def test_snake_case_names_become_camel_case() -> None:
    assert camel_key("wall_seconds") == "wallSeconds"
    assert camel_key("error_kind") == "errorKind"
    assert camel_key("ok") == "ok"


def test_keys_that_are_data_are_left_alone() -> None:
    for key in ("first_last@example.com", "aws-approval", "BILLING", "already_Camel", "x_"):
        assert camel_key(key) == key


def test_nested_dicts_lists_and_models_are_camelized() -> None:
    plan = Plain(contact_list="l", create_list=True)
    doc = {
        "wall_seconds": 1.5,
        "customers": [{"duration_seconds": 0.2, "data": {"plan": plan}}],
        "a_b@example.com": {"unsubscribe_all": False},
        "change": Aliased(change_id="c1"),
    }
    assert camel_json(doc) == {
        "wallSeconds": 1.5,
        "customers": [
            {"durationSeconds": 0.2, "data": {"plan": {"contactList": "l", "createList": True}}}
        ],
        "a_b@example.com": {"unsubscribeAll": False},
        "change": {"changeId": "c1"},
    }


@pytest.fixture
def world(aws_env: None, tmp_path: Path) -> Iterator[World]:
    yield from moto_world(tmp_path)


def test_fanout_json_has_no_snake_case_key(world: World) -> None:
    planned = world.invoke("ses", "topics", "plan", "--all", "-o", "json")
    assert planned.code == 0, planned.stderr
    doc = planned.json()
    assert snake_keys(doc) == []
    assert doc["wallSeconds"] >= 0
    assert {c["durationSeconds"] >= 0 for c in doc["customers"]} == {True}
    assert doc["customers"][0]["data"]["plan"]["createList"] is True

    assert world.invoke("ses", "topics", "apply", "--all").code == 0
    world.invoke("ses", "contacts", "add", "first_last@example.com", "-c", "acme")
    shown = world.invoke(
        "ses", "contacts", "show", "first_last@example.com", "-c", "acme", "-o", "json"
    ).json()
    assert snake_keys(shown) == []
    contact = shown["customers"][0]["data"]["first_last@example.com"]  # a data key: kept
    assert contact["unsubscribeAll"] is False


def test_a_failed_customer_has_an_error_kind_in_camel_case(world: World) -> None:
    failed = world.invoke("ses", "topics", "describe", "-c", "acme", "-o", "json")
    assert failed.code == 1
    (only,) = failed.json()["customers"]
    assert only["status"] == "failed"
    assert only["errorKind"] == "not_found"
