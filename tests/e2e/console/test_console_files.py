"""The console's files as the gateway serves them: headers, no escape from the folder, every import resolvable."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tollway.gateway.api.console import SECURITY_HEADERS, console_router
from tollway.gateway.console import STATIC_DIR

IMPORT = re.compile(r"""(?:import|from)\s*(?:[\w{}\s,*]+from\s*)?["'](\.{1,2}/[^"']+)["']""")
DYNAMIC = re.compile(r"""import\(`\./pages/\$\{module\}\.js`\)""")


@pytest.fixture
def client() -> Iterator[TestClient[Litestar]]:
    with TestClient(Litestar([console_router()])) as test_client:
        yield test_client


@pytest.mark.parametrize("path", ["/console", "/console/", "/console/js/main.js", "/console/console.css"])
def test_files_are_served_with_the_security_headers(client: TestClient[Litestar], path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 200
    for name, value in SECURITY_HEADERS.items():
        assert answer.headers[name] == value
    assert answer.headers["cache-control"] == "no-cache"


def test_script_and_style_types_let_the_browser_load_modules(client: TestClient[Litestar]) -> None:
    assert client.get("/console/js/main.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/console/console.css").headers["content-type"].startswith("text/css")
    assert client.get("/console/").headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("path", ["/console/nope.js", "/console/../app.py", "/console/%2e%2e/__init__.py"])
def test_nothing_outside_the_folder_or_missing_is_served(client: TestClient[Litestar], path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 404
    assert "Traceback" not in answer.text


def test_every_relative_import_names_a_file() -> None:
    scripts = sorted(STATIC_DIR.rglob("*.js"))
    assert len(scripts) > 10
    for script in scripts:
        for target in IMPORT.findall(script.read_text()):
            assert (script.parent / target).resolve().is_file(), f"{script.name} imports missing {target}"


def test_every_routed_page_exists_and_no_markup_is_built_from_strings() -> None:
    shell = (STATIC_DIR / "js/main.js").read_text()
    assert DYNAMIC.search(shell)
    modules = re.findall(r'\["(\w+)", "[^"]+", (?:"user"|"admin"|null)', shell)
    assert len(modules) >= 12
    for module in modules:
        assert (STATIC_DIR / "js/pages" / f"{module}.js").is_file(), module
    for script in STATIC_DIR.rglob("*.js"):
        text = script.read_text()
        # API values reach the page as text nodes only: no innerHTML, no eval.
        assert "innerHTML" not in text, script.name
        assert "eval(" not in text, script.name
        assert "insertAdjacentHTML" not in text, script.name
