"""The image, read statically (no container engine here): multi-stage with a
dependency layer, a small runtime, a non-root user, staymesh as entrypoint."""

from __future__ import annotations

import json
import re

import chart

DOCKERFILE = chart.ROOT / "Dockerfile"


def instructions():
    """[(INSTRUCTION, argument)] with continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def stages():
    out, current = [], None
    for word, rest in instructions():
        if word == "FROM":
            current = {"from": rest, "steps": []}
            out.append(current)
        elif current is not None:
            current["steps"].append((word, rest))
    return out


def test_multi_stage_with_a_dependency_layer_before_the_sources():
    s = stages()
    assert len(s) >= 3
    build = [st for st in s if any("cargo build --release" in r for w, r in st["steps"] if w == "RUN")]
    assert build, "no stage runs cargo build --release"
    steps = build[-1]["steps"]
    cook = next(i for i, (w, r) in enumerate(steps) if w == "RUN" and "cargo chef cook --release" in r)
    copy_all = next(i for i, (w, r) in enumerate(steps) if w == "COPY" and re.match(r"^\. ", r))
    assert cook < copy_all, "dependencies must be built before the sources are copied"
    # rdkafka-sys builds librdkafka from source.
    installs = " ".join(r for st in s for w, r in st["steps"] if w == "RUN")
    for package in ("make", "g++", "pkg-config", "zlib1g-dev", "perl", "python3"):
        assert re.search(rf"(?<![\w-]){re.escape(package)}(?![\w-])", installs), package


def test_runtime_is_small_non_root_and_runs_staymesh():
    runtime = stages()[-1]
    assert re.match(r"(debian:\S+-slim|gcr\.io/distroless/cc\S*)(\s|$)", runtime["from"]), runtime["from"]
    user = [r for w, r in runtime["steps"] if w == "USER"]
    assert user and user[-1].split(":")[0] not in ("root", "0")
    uid = user[-1].split(":")[0]
    values = chart.load_values("values.yaml")
    assert str(values["podSecurityContext"]["runAsUser"]) == uid, "the chart runs the image's user"
    (entrypoint,) = [r for w, r in runtime["steps"] if w == "ENTRYPOINT"]
    assert json.loads(entrypoint)[0].endswith("/staymesh")
    copies = [r for w, r in runtime["steps"] if w == "COPY"]
    assert any("--from=" in c and "release/staymesh" in c for c in copies)


def test_dockerignore_keeps_the_context_small():
    ignored = {line.strip().rstrip("/") for line in (chart.ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    for path in ("target", "node_modules", ".git", ".staymesh"):
        assert path in ignored or f"/{path}" in ignored or f"**/{path}" in ignored, path


def test_tiltfile_deploys_the_dev_chart_with_port_forwards_and_live_update():
    import ast

    text = (chart.ROOT / "Tiltfile").read_text()
    ast.parse(text)  # Starlark is a subset of Python's syntax
    assert "values=['helm/staymesh/values-dev.yaml']" in text
    assert "live_update=[sync(" in text and "docker_build(" in text
    # The services and their ports come from the chart's values.
    assert "read_yaml('helm/staymesh/values.yaml')['services']" in text
    assert "'8080:8080'" in text
