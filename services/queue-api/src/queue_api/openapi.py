"""The OpenAPI document, completed: every 4xx/5xx answer described as
``application/problem+json`` (FastAPI's default 422 included, which this API never answers in
FastAPI's own format), and the realtime stream's message schema, which no HTTP operation
references."""

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from queue_api.models import ProblemDetails, StreamPush
from queue_api.problems import PROBLEM_JSON

_REF = "#/components/schemas/{model}"
_INVALID = "The request is not valid; `errors` lists every invalid field."


def _add_component(components: dict[str, Any], model: type[BaseModel]) -> None:
    schema = model.model_json_schema(ref_template=_REF)
    for name, definition in schema.pop("$defs", {}).items():
        components.setdefault(name, definition)
    components.setdefault(model.__name__, schema)


def complete_openapi(app: FastAPI) -> None:
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        _add_component(components, ProblemDetails)
        _add_component(components, StreamPush)
        problem = {"schema": {"$ref": _REF.format(model="ProblemDetails")}}
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                for status, response in operation.get("responses", {}).items():
                    if status[:1] not in ("4", "5"):
                        continue
                    content = response.setdefault("content", {})
                    if PROBLEM_JSON not in content:
                        content.pop("application/json", None)
                        content[PROBLEM_JSON] = problem
                    if status == "422" and response.get("description") == "Validation Error":
                        response["description"] = _INVALID
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
