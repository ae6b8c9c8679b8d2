"""The chart, rendered by Helm's own engine (helm-python-sdk: Helm v4's Go SDK
through its C ABI), for the tests, metric_names.py and render_k8s.py."""

from __future__ import annotations

import pathlib
from typing import Any

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "staymesh"
RELEASE = "staymesh"
NAMESPACE = "staymesh"


def load_values(name: str) -> dict[str, Any]:
    """values.yaml, values-dev.yaml, values-prod.yaml of the chart, or a path."""
    path = CHART / name if not name.startswith("/") else pathlib.Path(name)
    return yaml.safe_load(path.read_text()) or {}


def deep_merge(base: dict, override: dict) -> dict:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def render_files(values: dict[str, Any] | None = None, *, name: str = RELEASE,
                 namespace: str = NAMESPACE, revision: int = 1) -> dict[str, str]:
    """{template path: rendered text} as `helm template` renders them (values
    are merged over the chart's values.yaml by Helm, as `-f` does)."""
    import helm_python

    with helm_python.Chart.load(str(CHART)) as chart:
        return chart.render(values=values or {}, name=name, namespace=namespace,
                            revision=revision, is_install=True)


def objects(files: dict[str, str]) -> list[dict[str, Any]]:
    """Every Kubernetes object of a rendering (NOTES.txt aside), in template order."""
    out = []
    for path in sorted(files):
        if path.endswith("NOTES.txt"):
            continue
        for doc in yaml.safe_load_all(files[path]):
            if doc:
                doc.setdefault("metadata", {}).setdefault("annotations", None)
                if doc["metadata"]["annotations"] is None:
                    del doc["metadata"]["annotations"]
                out.append(doc)
    return out


def render(values: dict[str, Any] | None = None, **kwargs) -> list[dict[str, Any]]:
    return objects(render_files(values, **kwargs))
