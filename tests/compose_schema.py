"""The Compose Specification's own JSON schema (tests/data/compose-spec: the file, where it
comes from and its licence), as ``docker compose`` checks a file: one place for the tests and
``bench/runtime_corpus.py --fix``.

A Compose file is read as YAML 1.2 (Compose's reader, go-yaml v3: ``80:80`` is a string and
``yes`` is no boolean there, unlike PyYAML's YAML 1.1) with its merge keys resolved, and
validated with ``jsonschema`` (draft 7, the schema's ``$schema``). Variables are not
interpolated: the schema takes ``${VAR}`` wherever a string may stand, and every field that
may hold a number or a boolean also takes a string.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

SCHEMA = Path(__file__).resolve().parent / "data" / "compose-spec" / "compose-spec.json"


@cache
def _validator() -> Any:
    from jsonschema import Draft7Validator

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema)


def load_compose(text: str) -> object:
    """The document as Compose reads it (YAML 1.2, merge keys resolved)."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    return yaml.load(text)


def compose_errors(doc: object) -> list[str]:
    """What the Compose schema refuses in ``doc``, one line each (``services.web.tmpfs: ...``);
    empty when it is accepted."""
    errors = sorted(_validator().iter_errors(doc), key=lambda e: list(map(str, e.path)))
    return [f"{'.'.join(map(str, e.path)) or '(top)'}: {e.message[:200]}" for e in errors]
