"""Response models filled from the objects routes already hold (ORM rows, dataclasses), by
field name, with `model_validate(obj)`: no field is copied by hand."""

from __future__ import annotations

from pydantic import AliasChoices, AliasGenerator, AliasPath, ConfigDict


def read_through(inner: str) -> ConfigDict:
    """Validate from attributes, taking each field from `obj.<inner>.<field>`, else from
    `obj.<field>` (e.g. a collection's columns, then its stats' counts). The plain name
    also lets FastAPI re-validate the model's own dump."""
    return ConfigDict(
        from_attributes=True,
        alias_generator=AliasGenerator(
            validation_alias=lambda name: AliasChoices(AliasPath(inner, name), name)
        ),
    )


def renamed(attribute: str, field: str) -> AliasChoices:
    """A field read from an attribute of another name (the plain name for re-validation)."""
    return AliasChoices(attribute, field)
