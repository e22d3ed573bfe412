"""Cross-field rules that report at the offending field, together with every field error.

A plain `model_validator(mode="after")` only runs when every field is valid, and a `ValueError`
it raises is located on the model, not the field. `RuledModel` instead wraps validation: it
runs the field validation, then the model's `rules` (on the validated model, or on the raw
input when field validation failed), and raises one `ValidationError` listing all of them,
each with its own `loc`. Nested models do the same, and pydantic prefixes their locations, so
a request yields pointers such as `/cards/3/suggestions/0/url`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Self

from pydantic import ModelWrapValidatorHandler, TypeAdapter, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from rcsgate.kit.schemas import ApiModel

Loc = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Problem:
    """A broken rule: where (relative to the model, camelCase), what, and an error type."""

    loc: Loc
    message: str
    kind: str = "invalid"


@cache
def _adapter(model: type[ApiModel], name: str) -> TypeAdapter[Any]:
    return TypeAdapter(model.model_fields[name].rebuild_annotation())


class Fields:
    """A model's input by field name, whether it came as aliases, names or a validated model."""

    def __init__(self, model: type[ApiModel], source: Any) -> None:
        self.model = model
        self.source = source
        self.validated = isinstance(source, model)

    def alias(self, name: str) -> str:
        return self.model.model_fields[name].alias or name

    def get(self, name: str) -> Any:
        if self.validated:
            return getattr(self.source, name)
        alias = self.alias(name)
        return self.source[alias] if alias in self.source else self.source.get(name)

    def given(self, name: str) -> bool:
        """Present and not null (a present but invalid value counts: its own error says why)."""
        return self.get(name) is not None

    def value(self, name: str) -> Any:
        """The validated value, or None when absent or invalid."""
        raw = self.get(name)
        if self.validated or raw is None:
            return raw
        try:
            return _adapter(self.model, name).validate_python(raw)
        except ValidationError:
            return None

    def problem(self, name: str, message: str, kind: str = "invalid") -> Problem:
        return Problem((self.alias(name),), message, kind)


def _details(error: ValidationError) -> list[InitErrorDetails]:
    return [
        InitErrorDetails(
            type=PydanticCustomError(e["type"], e["msg"]), loc=e["loc"], input=e.get("input")
        )
        for e in error.errors()
    ]


def _problem_details(fields: Fields, problems: list[Problem]) -> list[InitErrorDetails]:
    def value_at(loc: Loc) -> Any:
        return fields.source if not loc or fields.validated else fields.source.get(loc[0])

    return [
        InitErrorDetails(
            type=PydanticCustomError(p.kind, p.message), loc=p.loc, input=value_at(p.loc)
        )
        for p in problems
    ]


class RuledModel(ApiModel):
    """An `ApiModel` whose `rules` are checked with, not after, its field validation."""

    @classmethod
    def rules(cls, fields: Fields) -> Iterator[Problem]:
        """The model's cross-field rules; subclasses extend them (call `super().rules`)."""
        return iter(())

    def completed(self) -> Self:
        """Hook for values derived once the model is valid."""
        return self

    @model_validator(mode="wrap")
    @classmethod
    def _validate_with_rules(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        try:
            model = handler(data)
        except ValidationError as error:
            if not isinstance(data, Mapping):
                raise
            fields = Fields(cls, data)
            reported = {(tuple(e["loc"]), e["type"]) for e in error.errors()}
            problems = [p for p in cls.rules(fields) if (p.loc, p.kind) not in reported]
            if not problems:
                raise
            details = _details(error) + _problem_details(fields, problems)
            raise ValidationError.from_exception_data(cls.__name__, details) from None
        fields = Fields(cls, model)
        problems = list(cls.rules(fields))
        if problems:
            raise ValidationError.from_exception_data(
                cls.__name__, _problem_details(fields, problems)
            )
        return model.completed()
