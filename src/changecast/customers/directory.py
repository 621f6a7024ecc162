"""Loads config.json and SESConfig.json; errors name the file, the field and the problem."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from changecast.customers.models import AppConfig, CustomerMapping, SESConfig
from changecast.errors import FieldProblem, InvalidInputError, NotFoundError, problems_from_pydantic
from changecast.ids import CustomerCode

_M = TypeVar("_M", bound=BaseModel)


class ConfigFileError(InvalidInputError):
    """A configuration file is missing, is not JSON, or does not validate."""

    def __init__(self, path: Path | str, problems: list[FieldProblem]) -> None:
        lines = "; ".join(f"{p.field}: {p.problem}" for p in problems)
        super().__init__(f"{path}: {lines}", details=problems, file=str(path))
        self.path = path

    @classmethod
    def of_file(cls, source: Path | str, problem: str) -> ConfigFileError:
        """A problem with the file as a whole (missing, unreadable)."""
        return cls(source, [FieldProblem("(file)", problem)])


def parse_model(text: str | bytes, source: Path | str, model: type[_M]) -> _M:
    """Validate the JSON ``text`` read from ``source`` (a path or URI, named in errors)."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        problem = f"is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        raise ConfigFileError.of_file(source, problem) from None
    except UnicodeDecodeError:
        raise ConfigFileError.of_file(source, "is not UTF-8 text") from None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ConfigFileError(source, problems_from_pydantic(exc.errors())) from None


def load_model(path: Path, model: type[_M]) -> _M:
    """Read one JSON file into ``model``; any problem becomes a ``ConfigFileError``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigFileError.of_file(path, "does not exist") from None
    except OSError as exc:
        raise ConfigFileError.of_file(path, exc.strerror or str(exc)) from None
    return parse_model(text, path, model)


def load_app_config(path: Path) -> AppConfig:
    """config.json."""
    return load_model(path, AppConfig)


def load_ses_config(path: Path) -> SESConfig:
    """SESConfig.json."""
    return load_model(path, SESConfig)


@dataclass(frozen=True)
class CustomerDirectory:
    """The customers we know, looked up by code."""

    config: AppConfig

    @property
    def codes(self) -> tuple[CustomerCode, ...]:
        return tuple(CustomerCode(code) for code in sorted(self.config.customer_mappings))

    def get(self, code: str) -> CustomerMapping:
        try:
            return self.config.customer_mappings[code]
        except KeyError:
            raise NotFoundError(f"unknown customer {code[:40]!r}", customer=code[:40]) from None

    def unknown(self, codes: Iterable[str]) -> list[str]:
        """The codes in ``codes`` that no customer has."""
        return [code for code in codes if code not in self.config.customer_mappings]

    def names(self, codes: Iterable[str]) -> list[str]:
        return [self.get(code).customer_name for code in codes]
