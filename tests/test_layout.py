"""The one import rule, checked on the source tree.

* a stage (``channelops.stages.<name>``) imports :mod:`channelops.ingest` and the
  stage-neutral modules, never another stage: stages meet through the run's tables;
* nothing in ``stages/`` or ``ingest/`` imports the run machinery (``channelops.run``) or the
  simulator (``channelops.synth``);
* the stage-neutral modules import neither stages, nor the run machinery, nor the simulator;
* no import cycles between modules, counting imports inside functions too;
* imports sit at the top of a module, except the lazy ones a heavy or optional dependency
  needs (pyspark and the Spark variants, a JVM; Jupyter's kernel machinery in the command
  line), each marked ``# lazy: <why>`` on its line.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

LIB = Path(__file__).resolve().parents[1] / "lib"
PACKAGE = LIB / "channelops"


def _module_name(path: Path) -> str:
    parts = path.relative_to(LIB).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, bool, int]]:
    """(imported module, inside a function?, line) for every import of ``path``."""
    tree = ast.parse(path.read_text())
    me = _module_name(path)
    package = me if path.name == "__init__.py" else me.rsplit(".", 1)[0]
    found: list[tuple[str, bool, int]] = []

    def visit(node: ast.AST, nested: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = nested or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.Import):
                found.extend((a.name, nested, child.lineno) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.rsplit(".", child.level - 1)[0] if child.level > 1 else package
                    target = f"{base}.{child.module}" if child.module else base
                else:
                    target = child.module or ""
                found.append((target, nested, child.lineno))
                # "from channelops.stages import segmentation" imports a submodule
                for a in child.names:
                    sub = f"{target}.{a.name}"
                    if (LIB / Path(*sub.split("."))).with_suffix(".py").exists() or (
                        LIB / Path(*sub.split("."))
                    ).is_dir():
                        found.append((sub, nested, child.lineno))
            visit(child, inner)

    visit(tree, False)
    return found


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _kind(module: str) -> tuple[str, str | None]:
    """('stage', name) | ('ingest', None) | ('run', None) | ('synth', None) | ('shared', None)."""
    parts = module.split(".")
    if len(parts) >= 3 and parts[1] == "stages":
        return "stage", parts[2]
    if len(parts) >= 2 and parts[1] in ("ingest", "run", "synth"):
        return parts[1], None
    if module in ("channelops", "channelops.stages"):
        return "package", None
    return "shared", None


def _internal(target: str) -> str | None:
    """The channelops module ``target`` names (a module or a package), else None."""
    if not target.startswith("channelops"):
        return None
    while target and target not in MODULES:
        target = target.rsplit(".", 1)[0] if "." in target else ""
    return target or None


def test_the_tree_has_the_intake_the_stages_and_the_run_apart():
    stages = sorted(
        p.name for p in (PACKAGE / "stages").iterdir() if p.is_dir() and p.name[0] != "_"
    )
    assert stages == sorted(
        [
            "segmentation",
            "channel_selection",
            "integration",
            "forecasting",
            "logistics",
            "evaluation",
            "recommendation",
        ]
    )
    for sub in ("ingest", "run", "synth"):
        assert (PACKAGE / sub / "__init__.py").exists()


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_imports_follow_the_rule(module):
    kind, stage = _kind(module)
    problems = []
    for target, _nested, line in _imports(MODULES[module]):
        internal = _internal(target)
        if internal is None:
            continue
        tkind, tstage = _kind(internal)
        if kind == "stage" and tkind == "stage" and tstage != stage:
            problems.append(f"line {line}: stage {stage} imports stage {tstage} ({internal})")
        if kind in ("stage", "ingest", "shared") and tkind in ("run", "synth"):
            problems.append(f"line {line}: {kind} module imports {internal}")
        if kind in ("ingest", "shared") and tkind == "stage":
            problems.append(f"line {line}: {kind} module imports {internal}")
    assert not problems, f"{module}:\n" + "\n".join(problems)


def test_imports_are_at_the_top_unless_marked_lazy():
    """An import inside a function carries ``# lazy: <why>`` on its line."""
    unmarked = []
    for module, path in MODULES.items():
        lines = path.read_text().splitlines()
        for target, nested, line in _imports(path):
            if nested and "# lazy:" not in lines[line - 1]:
                unmarked.append(f"{module}:{line} ({target})")
    assert not unmarked, "imports inside functions without '# lazy: <why>':\n" + "\n".join(
        sorted(set(unmarked))
    )


def test_no_import_cycles():
    graph = {
        m: {t for target, _, _ in _imports(p) if (t := _internal(target)) and t != m}
        for m, p in MODULES.items()
    }
    # a package's __init__ re-exporting its own modules is not a cycle of the design
    for m in graph:
        graph[m] = {
            t for t in graph[m] if not (MODULES[m].name == "__init__.py" and t.startswith(m + "."))
        }
    cycles = []
    state: dict[str, int] = {}

    def walk(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            # importing a module runs its package's __init__ first, which is no edge back
            if node.startswith(nxt + ".") and MODULES[nxt].name == "__init__.py":
                continue
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*stack[stack.index(nxt) :], nxt]))
            elif nxt not in state:
                walk(nxt, [*stack, nxt])
        state[node] = 2

    for m in sorted(graph):
        if m not in state:
            walk(m, [m])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)
