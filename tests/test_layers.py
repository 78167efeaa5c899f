"""Every import inside ``oidc_provider`` points to the same layer or a lower one, with no import cycle
and no private name taken from another module.

Module-level and function-local imports alike, absolute and relative, and imports by name of a literal
path (``importlib.import_module``, ``__import__``, ``import_string``, ``importer``). The table is the one in
docs/architecture.md ("Layers"), and the two must agree; a module missing from it fails too, so a new
one gets a place.
"""

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "oidc_provider"

# layer -> modules; "x.*" is every module under the package x (and x itself)
LAYERS = {
    0: ["oidc_provider", "conf", "protocol", "crypto", "redaction", "throttling", "outbound", "session_keys"],
    1: ["models", "session_store", "migrations.*"],
    2: ["metadata", "response_types", "consent", "cleanup", "backchannel"],
    3: ["storage.*"],
    4: ["idpy.*", "claims"],
    5: ["server"],
    6: ["logout", "forms", "health"],
    7: ["views.*"],
    8: ["urls", "site_urls", "admin", "apps", "signals", "checks", "management.*", "templatetags.*"],
}


def module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules():
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module):
    name = module.removeprefix("oidc_provider").removeprefix(".") or "oidc_provider"
    for layer, patterns in LAYERS.items():
        for pattern in patterns:
            if name == pattern.removesuffix(".*") or pattern.endswith(".*") and name.startswith(pattern[:-1]):
                return layer
    return None


# Calls that import the module a literal string names: ``importlib.import_module("oidc_provider.x")``,
# ``__import__(...)``, Django's ``import_string("oidc_provider.x.Name")``, idpyoidc's ``importer(...)``.
DYNAMIC_IMPORTS = {"import_module", "__import__", "import_string", "importer"}


def dotted_module(name, known):
    """The longest module of ours that the dotted path ``name`` starts with, or None."""
    parts = name.split(".")
    return next((m for m in (".".join(parts[:i]) for i in range(len(parts), 0, -1)) if m in known), None)


def imports(module, path, known):
    """(line, imported module) for every import of one of ours in ``module``, wherever it stands."""
    is_package = path.name == "__init__.py"
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            if func in DYNAMIC_IMPORTS and isinstance(node.args[0].value, str):
                target = dotted_module(node.args[0].value, known)
                found += [(node.lineno, target)] if target else []
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:  # ``from x import y``: y is a module of ours, or a name in x
                sub = f"{base}.{alias.name}"
                found.append((node.lineno, sub if sub in known else base))
    return sorted({(line, name) for line, name in found if name in known})


def graph():
    known = modules()
    return known, {module: imports(module, path, known) for module, path in known.items()}


def cycles(edges):
    """Tarjan: the strongly connected components with more than one module, or a module importing itself."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for _, w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or any(w == v for _, w in edges[v]):
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def where(known, module, line):
    return f"{known[module].relative_to(PACKAGE.parent)}:{line}"


def test_every_module_has_a_layer():
    missing = sorted(module for module in modules() if layer_of(module) is None)
    assert not missing, f"modules missing from the layer table (tests/test_layers.py, docs/architecture.md): {missing}"


def test_the_documented_table_is_this_one():
    page = (PACKAGE.parent / "docs" / "architecture.md").read_text()
    rows = re.findall(r"^\| (\d) [a-z ]+ \| ([^|]+) \|", page, re.MULTILINE)
    documented = {
        int(layer): [m.replace("/", ".") for m in re.findall(r"`([^`]+)`", modules)] for layer, modules in rows
    }
    assert documented == {layer: [m for m in names if m != "oidc_provider"] for layer, names in LAYERS.items()}


def test_imports_only_look_down():
    known, edges = graph()
    upward = [
        f"{where(known, module, line)}: {module} (layer {layer_of(module)}) imports {target} (layer {layer_of(target)})"
        for module, targets in edges.items()
        for line, target in targets
        if None not in (layer_of(module), layer_of(target)) and layer_of(target) > layer_of(module)
    ]
    assert not upward, "imports to a higher layer:\n" + "\n".join(upward)


def test_no_import_cycle():
    known, edges = graph()
    report = []
    for component in cycles(edges):
        members = set(component)
        links = [f"  {where(known, m, line)}: {m} -> {t}" for m in component for line, t in edges[m] if t in members]
        report.append(" <-> ".join(component) + "\n" + "\n".join(links))
    assert not report, "import cycles:\n" + "\n".join(report)


def test_no_private_name_crosses_a_module():
    """A module's ``_name`` is its own business: what another module needs gets a public name."""
    known = modules()
    private = []
    for module, path in known.items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("oidc_provider")):
                private += [
                    f"{where(known, module, node.lineno)}: {alias.name}"
                    for alias in node.names
                    if alias.name.startswith("_") and not alias.name.startswith("__")
                ]
    assert not private, "private names imported from another module:\n" + "\n".join(private)


def test_the_checker_sees_every_kind_of_import(tmp_path, monkeypatch):
    """Function-local, relative, ``from package import module`` and by-name (``import_module``…)
    imports all count."""
    package = tmp_path / "oidc_provider"
    (package / "storage").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "conf.py").write_text("def f():\n    from oidc_provider.server import reset\n")
    (package / "server.py").write_text("from . import conf\nfrom .storage import rows\n")
    (package / "storage" / "__init__.py").write_text("")
    (package / "storage" / "rows.py").write_text("from .. import server\nimport oidc_provider.conf\n")
    (package / "protocol.py").write_text(
        "import importlib\n"
        "from django.utils.module_loading import import_string\n"
        "def f():\n"
        '    importlib.import_module("oidc_provider.server")\n'
        '    __import__("oidc_provider.storage.rows")\n'
        '    return import_string("oidc_provider.server.reset")\n'
    )
    monkeypatch.setitem(globals(), "PACKAGE", package)
    known, edges = graph()
    assert edges["oidc_provider.protocol"] == [
        (4, "oidc_provider.server"),
        (5, "oidc_provider.storage.rows"),
        (6, "oidc_provider.server"),
    ]
    assert edges["oidc_provider.conf"] == [(2, "oidc_provider.server")]
    assert edges["oidc_provider.server"] == [(1, "oidc_provider.conf"), (2, "oidc_provider.storage.rows")]
    assert edges["oidc_provider.storage.rows"] == [(1, "oidc_provider.server"), (2, "oidc_provider.conf")]
    assert cycles(edges) == [["oidc_provider.conf", "oidc_provider.server", "oidc_provider.storage.rows"]]
