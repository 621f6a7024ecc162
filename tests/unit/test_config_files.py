"""config.json and SESConfig.json: errors name the file, the field and the problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from changecast.customers.directory import ConfigFileError, load_app_config, load_ses_config

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_examples_load() -> None:
    config = load_app_config(EXAMPLES / "config.json")
    assert set(config.customer_mappings) == {"acme", "globex"}
    assert not config.customer_mappings["globex"].is_production
    ses = load_ses_config(EXAMPLES / "SESConfig.json")
    names = {t.topic_name for t in ses.expanded_topics()}
    assert {"aws-calendar", "aws-announce", "aws-approval"} <= names


CCM = Path(__file__).resolve().parents[1] / "fixtures" / "ccm"


def test_the_reference_tools_own_files_load_unchanged() -> None:
    """Its users migrate by pointing changecast at the config.json and SESConfig.json they have."""
    config = load_app_config(CCM / "config.json")
    raw = json.loads((CCM / "config.json").read_text(encoding="utf-8"))
    assert set(config.customer_mappings) == set(raw["customer_mappings"])
    ses = load_ses_config(CCM / "SESConfig.json")
    names = {t.topic_name for t in ses.expanded_topics()}
    assert {"aws-calendar", "aws-announce", "aws-approval", "announce-approval"} <= names


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def test_bad_role_arn_names_file_and_field(tmp_path: Path) -> None:
    data = json.loads((EXAMPLES / "config.json").read_text())
    data["customer_mappings"]["acme"]["ses_role_arn"] = "not-an-arn"
    path = _write(tmp_path, data)
    with pytest.raises(ConfigFileError) as caught:
        load_app_config(path)
    assert str(path) in caught.value.message
    assert "customer_mappings.acme.ses_role_arn" in caught.value.message


def test_mismatched_key_and_code_is_explained(tmp_path: Path) -> None:
    data = json.loads((EXAMPLES / "config.json").read_text())
    data["customer_mappings"]["acme"]["customer_code"] = "other"
    with pytest.raises(ConfigFileError, match="differs from its customer_code"):
        load_app_config(_write(tmp_path, data))


def test_invalid_json_gives_line_and_column(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match=r"not valid JSON: .* line 1 column"):
        load_app_config(_write(tmp_path, "{not json"))


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match="does not exist"):
        load_app_config(tmp_path / "nope.json")


def test_bad_restricted_recipient_is_named(tmp_path: Path) -> None:
    data = json.loads((EXAMPLES / "config.json").read_text())
    data["customer_mappings"]["globex"]["restricted_recipients"] = ["not an address"]
    with pytest.raises(ConfigFileError, match=r"restricted_recipients.*not an email"):
        load_app_config(_write(tmp_path, data))
