"""The folders show the flow, and imports run downward only: each package imports only the ones
below it in LAYERS. The sandbox is Auth0's stand-in, not part of the pipeline: it imports nothing of
the pipeline, and only the commands that start it import it, inside those commands."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import bridged_auth0_pipeline

PACKAGE = Path(bridged_auth0_pipeline.__file__).parent
NAME = PACKAGE.name
# Lowest first. A package may import itself and anything before it.
LAYERS = ["auth0", "config", "store", "extraction", "warehouse", "views", "orchestration", "definitions",
          "support", "commands", "cli"]
SANDBOX = "sandbox"
STARTS_THE_SANDBOX = {"commands", "cli"}  # `sync`/`dev` without a tenant, `bridged-auth0 sandbox`


def _imports(path: Path) -> list[tuple[int, str, bool]]:
    """(line, imported package of ours, at module level?) for every import in the file; a relative
    import is resolved against the file's own package (`from ..orchestration import x` in
    extraction/users.py imports orchestration)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top_level = {id(node) for node in tree.body}
    relative = path.relative_to(PACKAGE)
    # The file's package, dotted: its folder's (an __init__.py is its folder's package itself).
    own_package = [NAME, *relative.parts[:-1]]
    found = []
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.ImportFrom):
            if node.level == 0:
                module = node.module
            elif node.level - 1 < len(own_package):
                module = ".".join(own_package[:len(own_package) - (node.level - 1)] + ([node.module] if node.module else []))
            else:
                raise AssertionError(f"{relative}:{node.lineno}: a relative import above the package")
            if module:
                names = [module] + [f"{module}.{alias.name}" for alias in node.names if module == NAME]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == NAME and len(parts) > 1:
                found.append((node.lineno, parts[1], id(node) in top_level))
    return found


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        yield path, relative, relative.parts[0].removesuffix(".py")


def test_every_import_of_the_pipeline_runs_downward():
    assert {package for _, _, package in _modules()} - {"__init__", SANDBOX} == set(LAYERS), \
        "a package was added or removed: place it in LAYERS"
    upward = []
    for path, relative, package in _modules():
        if package in (SANDBOX, "__init__"):
            continue
        for line, target, _ in _imports(path):
            if target != SANDBOX and LAYERS.index(target) > LAYERS.index(package):
                upward.append(f"{relative}:{line} ({package}) imports {target}, a layer above it")
    assert upward == [], "\n".join(upward)


def test_the_sandbox_stays_apart_from_the_pipeline():
    wrong = []
    for path, relative, package in _modules():
        for line, target, module_level in _imports(path):
            if package == SANDBOX and target != SANDBOX:
                wrong.append(f"{relative}:{line}: the sandbox imports the pipeline's {target}")
            elif package != SANDBOX and target == SANDBOX and (package not in STARTS_THE_SANDBOX or module_level):
                wrong.append(f"{relative}:{line}: {package} imports the sandbox"
                             + (" at module level (import it inside the command that starts it)" if module_level else ""))
    assert wrong == [], "\n".join(wrong)


def test_loading_the_code_location_loads_no_sandbox_module():
    """What a run, the daemon and the webserver load: the AST test above cannot see dynamic imports."""
    code = f"import sys, {NAME}.definitions; print(sorted(m for m in sys.modules if m.startswith('{NAME}.{SANDBOX}')))"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH0_", "BRIDGED_"))}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
