"""The Kubernetes API's own schema (kubernetes-validate's JSON schemas, strict), as every error
it finds in a document: what the corpus fix tests and ``bench/runtime_corpus.py --fix``
compare before and after a fix, so a fix is judged on documents the schema refused already
(a fix must add no error to them either)."""

from __future__ import annotations

import functools
import re
from typing import Any

VERSION = "1.30.0"


@functools.cache
def _validator(kind: str, api_version: str) -> Any:
    """The strict validator of ``kind`` in ``api_version`` at :data:`VERSION`, or None when
    that version has no schema for it (a custom resource, an API version removed before)."""
    import jsonschema
    from kubernetes_validate import utils
    from referencing import Registry, Resource

    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    folder = f"kubernetes-json-schema/v{VERSION}-local-strict"
    try:
        schema = utils.schema_contents(f"{folder}/{kind.lower()}-{group}.json", VERSION)
    except FileNotFoundError:
        return None
    definitions = _definitions(folder)
    registry = definitions @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


@functools.cache
def _definitions(folder: str) -> Any:
    from kubernetes_validate import utils
    from referencing import Resource

    return Resource.from_contents(utils.schema_contents(f"{folder}/_definitions.json", VERSION))


def schema_errors(doc: dict[str, Any]) -> frozenset[str] | None:
    """Every error the schema finds in ``doc`` (``spec/volumes/*/fc/lun: message``: list
    indices left out, so an item a fix inserts before it does not make an error new); None
    when the schema does not know its kind and API version."""
    kind, api_version = doc.get("kind"), doc.get("apiVersion")
    if not isinstance(kind, str) or not isinstance(api_version, str):
        return None
    validator = _validator(kind, api_version)
    if validator is None:
        return None
    return frozenset(
        f"{'/'.join('*' if isinstance(p, int) else str(p) for p in error.absolute_path)}: "
        f"{error.message}"
        for error in validator.iter_errors(doc)
    )
