"""The corridor, measured: no module-level import cycle in `bot/` or in the sandbox (the fakes), and the
product ships no fakes.

import-linter (`lint-imports`, pyproject.toml) holds the layer contracts; this adds what it does not
check at module granularity: strongly connected components of each package's own import graph
(imports under `if TYPE_CHECKING:` count: a type checker follows them too)."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import grimp
import pytest
from setuptools import find_packages

REPO = Path(__file__).resolve().parents[1]


def _cycles(graph: grimp.ImportGraph, package: str) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one module."""
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if not imported.startswith(package):
                continue
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph.modules):
        if module.startswith(package) and module not in index:
            visit(module)
    return found


@pytest.mark.parametrize("package", ["bot", "immybot_slack_sandbox"])
def test_no_import_cycle(package: str) -> None:
    assert _cycles(grimp.build_graph(package), package) == []


def test_the_fake_slack_is_what_its_handlers_are_typed_against() -> None:
    """The handlers type `fake` as `SlackWorld` (so they need not import `slack.py`): FakeSlack has it all."""
    from immybot_slack_sandbox.slack import FakeSlack
    from immybot_slack_sandbox.slack_world import SlackWorld

    fake = FakeSlack()
    wanted = set(SlackWorld.__annotations__) | {n for n in vars(SlackWorld) if not n.startswith("_")}
    assert not {name for name in wanted if not hasattr(fake, name)}


def test_the_wheel_and_its_dependencies_carry_no_fakes() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    include = project["tool"]["setuptools"]["packages"]["find"]["include"]
    packaged = find_packages(str(REPO), include=include)
    assert packaged and all(name == "bot" or name.startswith("bot.") for name in packaged), packaged
    runtime = " ".join(project["project"]["dependencies"])
    assert "websockets" not in runtime and "trustme" not in runtime
    assert {"!bot/"} <= set((REPO / ".dockerignore").read_text().split())
    assert "sandbox" not in (REPO / "Dockerfile").read_text()
