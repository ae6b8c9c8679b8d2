"""Shared renderings of the chart (Helm's own engine) for the suite."""

from __future__ import annotations

import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import chart  # noqa: E402

# The values files a user installs with, by name.
VALUES = {
    "default": {},
    "dev": chart.load_values("values-dev.yaml"),
    "prod": chart.load_values("values-prod.yaml"),
}
# The default values with the objects that are off by default switched on.
VALUES["default+monitoring"] = {
    "metrics": {"serviceMonitor": {"enabled": True}, "prometheusRule": {"enabled": True}},
    "ingress": {"enabled": True},
    "serviceDefaults": {"autoscaling": {"enabled": True}},
}


@pytest.fixture(scope="session")
def renderings():
    """{values name: [objects]}"""
    return {name: chart.render(values) for name, values in VALUES.items()}


@pytest.fixture(scope="session", params=list(VALUES))
def rendering(request, renderings):
    return request.param, renderings[request.param]
