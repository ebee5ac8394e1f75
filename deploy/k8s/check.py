"""``make k8s-check``: render every overlay and validate each object offline against the Kubernetes API schemas."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml  # type: ignore[import-untyped]

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import render  # type: ignore[import-not-found]  # noqa: E402 - a sibling script, not a package

OVERLAYS = HERE / "overlays"
# The oldest Kubernetes these manifests support (HPA autoscaling/v2 GA in 1.23, PDB policy/v1 in 1.21): validate
# against it and the newest schema shipped, so neither a removed nor a not-yet-added field slips through.
KUBERNETES_VERSIONS = ("1.29.0", kubernetes_validate.latest_version())


def overlays() -> list[Path]:
    return sorted(path for path in OVERLAYS.iterdir() if (path / "kustomization.yaml").exists())


def render_overlay(folder: Path, *, kubectl: bool | None = None) -> tuple[list[dict[str, Any]], str]:
    """The overlay's objects and what rendered them: ``kubectl kustomize`` when installed, else ``render.py``."""
    use_kubectl = shutil.which("kubectl") is not None if kubectl is None else kubectl
    if not use_kubectl:
        return render.render(folder), "render.py"
    out = subprocess.run(["kubectl", "kustomize", str(folder)], capture_output=True, text=True, check=True).stdout  # noqa: S603, S607
    return [doc for doc in yaml.safe_load_all(out) if doc], "kubectl kustomize"


def problems(objects: list[dict[str, Any]]) -> list[str]:
    """Every schema violation (strict: unknown fields too), as ``Kind/name: message``."""
    found = []
    for obj in objects:
        for version in KUBERNETES_VERSIONS:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                found.append(f"{obj['kind']}/{obj['metadata']['name']} (Kubernetes {version}): {exc.message}")
    return found


def main() -> int:
    failed = False
    for folder in overlays():
        objects, renderer = render_overlay(folder)
        errors = problems(objects)
        failed = failed or bool(errors)
        verdict = "valid" if not errors else f"{len(errors)} invalid"
        sys.stdout.write(f"{folder.name}: {len(objects)} objects rendered by {renderer}, {verdict}\n")
        sys.stdout.writelines(f"  {error}\n" for error in errors)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
