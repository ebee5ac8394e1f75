"""A small kustomize: renders the kustomizations under deploy/k8s when ``kubectl kustomize`` is not installed.

It implements only what these kustomizations use: resources (files and directories), namespace, labels and
commonLabels, images, configMapGenerator/secretGenerator (with kustomize's content-hash name suffix and the
references to it rewritten), and patches (strategic merge, lists merged by ``name``, ``null`` deleting a key; or
JSON 6902 ``add``/``replace``/``remove``) with kind/name/labelSelector targets. The check compares its output with
kubectl's whenever kubectl is present, so the two cannot drift apart unnoticed.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

Obj = dict[str, Any]
# Where labels go besides metadata.labels (kustomize's built-in field specs for the kinds used here).
SELECTOR_PATHS: dict[str, list[tuple[str, ...]]] = {
    "Deployment": [("spec", "selector", "matchLabels"), ("spec", "template", "metadata", "labels")],
    "Job": [("spec", "template", "metadata", "labels")],
    "Service": [("spec", "selector")],
    "PodDisruptionBudget": [("spec", "selector", "matchLabels")],
}
KINDS_OF_REFERENCE: dict[tuple[str, str], str] = {
    ("ConfigMap", "from"): "configMapRef",
    ("Secret", "from"): "secretRef",
    ("ConfigMap", "key"): "configMapKeyRef",
    ("Secret", "key"): "secretKeyRef",
}
TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {"Deployment": ("spec", "template"), "Job": ("spec", "template")}


def load_documents(path: Path) -> list[Obj]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def render(folder: Path) -> list[Obj]:
    """The objects ``kubectl kustomize folder`` prints (in no particular order)."""
    objects = _render(folder)
    renames = {(o["kind"], o["_generated"]): o["metadata"]["name"] for o in objects if "_generated" in o}
    _rename_references(objects, renames)
    for obj in objects:
        obj.pop("_generated", None)
        obj.pop("_plain", None)
    return objects


def _render(folder: Path) -> list[Obj]:
    """One kustomization's objects; generated ones keep their unsuffixed name and data for a later overlay."""
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
    objects: list[Obj] = []
    for entry in kustomization.get("resources", []):
        target = folder / entry
        objects += _render(target) if target.is_dir() else load_documents(target)
    for kind, key in (("ConfigMap", "configMapGenerator"), ("Secret", "secretGenerator")):
        for spec in kustomization.get(key, []):
            _generate(objects, folder, kind, spec, kustomization.get("generatorOptions", {}))
    for patch in kustomization.get("patches", []):
        _apply_patch(objects, folder, patch)
    for image in kustomization.get("images", []):
        _set_image(objects, image)
    for group in kustomization.get("labels", []):
        _add_labels(objects, group["pairs"], selectors=group.get("includeSelectors", False))
    if "commonLabels" in kustomization:
        _add_labels(objects, kustomization["commonLabels"], selectors=True)
    if "namespace" in kustomization:
        for obj in objects:
            obj["metadata"]["namespace"] = kustomization["namespace"]
    return objects


def _generate(objects: list[Obj], folder: Path, kind: str, spec: Obj, options: Obj) -> None:
    data: dict[str, str] = {}
    for literal in spec.get("literals", []):
        key, _, value = literal.partition("=")
        data[key] = value
    for file in spec.get("files", []):
        key, _, source = file.rpartition("=")
        data[key or Path(source).name] = (folder / source).read_text()
    name = spec["name"]
    behavior = spec.get("behavior", "create")
    metadata: Obj = {"name": name}
    existing = next((o for o in objects if o["kind"] == kind and o.get("_generated") == name), None)
    if behavior in ("replace", "merge") and existing is not None:
        objects.remove(existing)
        data = {**existing["_plain"], **data} if behavior == "merge" else data
        metadata = {**existing["metadata"], "name": name}  # the base's labels and namespace stay
    obj: Obj = {"apiVersion": "v1", "kind": kind, "metadata": metadata}
    if kind == "Secret":
        obj["type"] = spec.get("type", "Opaque")
        obj["data"] = {k: _base64(v) for k, v in sorted(data.items())}
    else:
        obj["data"] = dict(sorted(data.items()))
    if not (options.get("disableNameSuffixHash") or spec.get("options", {}).get("disableNameSuffixHash")):
        obj["metadata"]["name"] = f"{name}-{content_hash(obj)}"
    obj["_generated"] = name
    obj["_plain"] = data
    objects.append(obj)


def content_hash(obj: Obj) -> str:
    """The suffix kustomize names a generated object with: 10 hex digits of a SHA-256 of its JSON, a few swapped."""
    fields: Obj = {"kind": obj["kind"], "name": "", "data": obj["data"]}  # kustomize v5 hashes with no name
    if obj["kind"] == "Secret":
        fields["type"] = obj["type"]
    encoded = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    encoded = encoded.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")  # as Go's encoder
    digest = hashlib.sha256(encoded.encode()).hexdigest()[:10]
    return digest.translate(str.maketrans("013ae", "ghkmt"))


def _base64(value: str) -> str:
    """Base64 as kustomize writes it: an encoded value longer than 70 characters is cut into 70-character lines."""
    encoded = base64.b64encode(value.encode()).decode()
    if len(encoded) <= 70:
        return encoded
    return "".join(encoded[i : i + 70] + "\n" for i in range(0, len(encoded), 70))


def _apply_patch(objects: list[Obj], folder: Path, spec: Obj) -> None:
    text = (folder / spec["path"]).read_text() if "path" in spec else spec["patch"]
    documents = [doc for doc in yaml.safe_load_all(text) if doc]
    if len(documents) == 1 and isinstance(documents[0], list):
        for obj in _targets(objects, spec.get("target", {})):
            _json6902(obj, documents[0])
        return
    for patch in documents:
        target = {"kind": patch["kind"], "name": f"^{re.escape(patch['metadata']['name'])}$"}
        for obj in _targets(objects, {**target, **spec.get("target", {})}):
            merged = merge(obj, patch)
            obj.clear()
            obj.update(merged)


def _targets(objects: list[Obj], target: Obj) -> list[Obj]:
    def selected(obj: Obj) -> bool:
        if "kind" in target and obj["kind"] != target["kind"]:
            return False
        name = obj.get("_generated", obj["metadata"]["name"])
        if "name" in target and not re.fullmatch(target["name"].strip("^$"), name):
            return False
        if "labelSelector" in target:
            labels = obj["metadata"].get("labels", {})
            pairs = (term.split("=", 1) for term in target["labelSelector"].split(","))
            return all(labels.get(key) == value for key, value in pairs)
        return True

    return [obj for obj in objects if selected(obj)]


def merge(base: Any, patch: Any) -> Any:
    """Strategic merge, as far as these manifests need it: maps recursively, named lists by name."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for key, value in patch.items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = merge(base[key], value) if key in base else copy.deepcopy(value)
        return out
    if isinstance(base, list) and isinstance(patch, list) and all(isinstance(i, dict) and "name" in i for i in patch):
        items = [copy.deepcopy(i) for i in base]
        added = []
        for item in patch:
            index = next((n for n, old in enumerate(items) if old.get("name") == item["name"]), None)
            if index is None:
                added.append(copy.deepcopy(item))
            else:
                items[index] = merge(items[index], item)
        return added + items  # kustomize puts a patch's new entries first
    return copy.deepcopy(patch)


def _json6902(obj: Obj, operations: list[Obj]) -> None:
    for op in operations:
        *parents, last = [part.replace("~1", "/").replace("~0", "~") for part in op["path"].strip("/").split("/")]
        node: Any = obj
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        key: Any = int(last) if isinstance(node, list) and last != "-" else last
        if op["op"] == "remove":
            del node[key]
        elif isinstance(node, list) and op["op"] == "add":
            node.insert(len(node) if key == "-" else key, op["value"])
        else:
            node[key] = op["value"]


def _set_image(objects: list[Obj], image: Obj) -> None:
    for obj in objects:
        spec = _pod_spec(obj)
        for container in (spec or {}).get("containers", []) + (spec or {}).get("initContainers", []):
            name, _, _tag = container["image"].partition(":")
            if name == image["name"]:
                container["image"] = f"{image.get('newName', name)}:{image.get('newTag', _tag or 'latest')}"


def _pod_spec(obj: Obj) -> Obj | None:
    path = TEMPLATE_PATHS.get(obj["kind"])
    node: Any = obj
    for part in path or ():
        node = node.get(part, {})
    return node.get("spec") if path else None


def _add_labels(objects: list[Obj], pairs: dict[str, str], *, selectors: bool) -> None:
    for obj in objects:
        obj["metadata"].setdefault("labels", {}).update(pairs)
        if not selectors:
            continue
        for path in SELECTOR_PATHS.get(obj["kind"], []):
            _at(obj, path).update(pairs)
        if obj["kind"] == "NetworkPolicy":
            _label_peers(obj["spec"], pairs)


def _label_peers(spec: Obj, pairs: dict[str, str]) -> None:
    """A policy's own selector and its peers' pod selectors get the labels, where they select by label at all."""
    selectors = [spec.get("podSelector", {})]
    for rule in spec.get("ingress", []):
        selectors += [peer["podSelector"] for peer in rule.get("from", []) if "podSelector" in peer]
    for rule in spec.get("egress", []):
        selectors += [peer["podSelector"] for peer in rule.get("to", []) if "podSelector" in peer]
    for selector in selectors:
        if selector.get("matchLabels"):
            selector["matchLabels"].update(pairs)


def _at(obj: Obj, path: tuple[str, ...]) -> Obj:
    node = obj
    for part in path:
        node = node.setdefault(part, {})
    return node


def _rename_references(objects: list[Obj], renames: dict[tuple[str, str], str]) -> None:
    """Point pods at generated objects by their suffixed names."""

    def renamed(kind: str, name: str) -> str:
        return renames.get((kind, name), name)

    for obj in objects:
        spec = _pod_spec(obj)
        if spec is None:
            continue
        for volume in spec.get("volumes", []):
            if "configMap" in volume:
                volume["configMap"]["name"] = renamed("ConfigMap", volume["configMap"]["name"])
            if "secret" in volume:
                volume["secret"]["secretName"] = renamed("Secret", volume["secret"]["secretName"])
        for container in spec.get("containers", []) + spec.get("initContainers", []):
            for ref in _references(container):
                ref["name"] = renamed(ref["_kind"], ref["name"])
                del ref["_kind"]


def _references(container: Obj) -> list[Obj]:
    """The container's envFrom and valueFrom references, each tagged with the kind it names."""
    found = []
    sources = container.get("envFrom", []) + [v["valueFrom"] for v in container.get("env", []) if "valueFrom" in v]
    for source in sources:
        for kind, key in KINDS_OF_REFERENCE.items():
            if key in source:
                found.append(source[key])
                source[key]["_kind"] = kind[0]
    return found
