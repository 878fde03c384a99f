"""The API's docs page: drawn on the server from the OpenAPI schema.

Swagger UI and Redoc need inline script (and a CDN), which the Content
Security Policy forbids; a plain page drawn from the same schema that
``/api/schema/`` serves needs no script at all.
"""

from __future__ import annotations

from functools import cache

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from drf_spectacular.generators import SchemaGenerator

from .problems import PROBLEMS

METHODS = ("get", "post", "put", "patch", "delete")


@cache
def _schema() -> dict:
    # The schema depends only on the code: build it once per process.
    return SchemaGenerator().get_schema(request=None, public=True)


def _resolve(schema: dict, node: dict | None) -> dict:
    while node and "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node or {}


def _fields(schema: dict, node: dict | None) -> list[dict]:
    node = _resolve(schema, node)
    if node.get("type") == "array":
        node = _resolve(schema, node.get("items"))
    required = set(node.get("required", ()))
    fields = []
    for name, prop in node.get("properties", {}).items():
        prop = _resolve(schema, prop) if "$ref" in prop else prop
        kind = prop.get("type") or ("one of: " + ", ".join(str(v) for v in prop.get("enum", ()))) or "object"
        if "allOf" in prop or "oneOf" in prop:
            kind = "object"
        fields.append(
            {
                "name": name,
                "type": kind,
                "required": name in required,
                "read_only": prop.get("readOnly", False),
                "description": prop.get("description", ""),
            }
        )
    return fields


def endpoints() -> list[dict]:
    schema = _schema()
    found = []
    for path, item in schema.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            ok = next((code for code in op.get("responses", {}) if code.startswith("2")), None)
            ok_schema = op["responses"][ok].get("content", {}).get("application/json", {}).get("schema") if ok else None
            found.append(
                {
                    "anchor": f"{method}-{path}".replace("/", "-").replace("{", "").replace("}", "").strip("-"),
                    "method": method,
                    "path": path,
                    "summary": op.get("summary", ""),
                    "parameters": [
                        {
                            "name": p["name"],
                            "in": p["in"],
                            "required": p.get("required", False),
                            "description": p.get("description", ""),
                        }
                        for p in op.get("parameters", ())
                    ],
                    "request": _fields(schema, body) if body else [],
                    "response": _fields(schema, ok_schema) if ok_schema else [],
                    "statuses": sorted(op.get("responses", {})),
                }
            )
    return found


@require_GET
def docs_page(request: HttpRequest) -> HttpResponse:
    problems = [{"code": code, "status": st, "title": title} for code, (st, title) in PROBLEMS.items()]
    return render(request, "api/docs.html", {"endpoints": endpoints(), "problems": problems})
