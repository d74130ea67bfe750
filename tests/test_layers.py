"""The layering rule, checked on every import statement of the project's own code:
core < text < index < rag < ui, eval < learn < serve < cli — no module imports a package above its own,
`ui` and `eval` do not import each other, and each outside system has one module."""
from __future__ import annotations

import ast
from pathlib import Path

from conftest import REPO

RANK = {"core": 0, "text": 1, "index": 2, "rag": 3, "ui": 4, "eval": 4, "learn": 5, "serve": 6, "cli": 7}
# outside system -> the one module allowed to import it (eval/bench.py measures a naive pipeline: exempt)
OWNERS = {"chromadb": {"index/store.py"}, "torch": {"index/embed.py"}, "sentence_transformers": {"index/embed.py"},
          "gradio": {"ui/app.py"}, "openai": {"rag/llm_client.py"},
          "sqlite3": {"index/lexicon.py"}, "llama_index.core.retrievers": {"rag/retrieve/llama.py"},
          "pypdfium2": {"index/readers/pdf.py"}, "rapidocr": {"index/ocr.py"},
          "fastapi": {"serve/api.py"}, "uvicorn": {"serve/api.py"}, "starlette": {"serve/api.py"},
          "xllamacpp": {"rag/local/llama.py"}}
EXEMPT_FROM_OWNERS = {"eval/bench.py"}


def project_modules(root: Path = REPO) -> list[Path]:
    return sorted(p for layer in RANK for p in ([root / "cli.py"] if layer == "cli" else (root / layer).rglob("*.py"))
                  if p.exists())


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, imported module) of every import statement in a file, at any depth (lazy imports count)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def layer_of(path: Path, root: Path) -> str:
    return path.relative_to(root).parts[0].removesuffix(".py")


def upward_imports(root: Path = REPO) -> list[str]:
    """Every import of a layer at or above the importing module's own (ui and eval are peers: neither may
    import the other)."""
    wrong = []
    for path in project_modules(root):
        own = layer_of(path, root)
        for line, module in imports(path):
            target = module.split(".")[0]
            if target in RANK and target != own and RANK[target] >= RANK[own]:
                wrong.append(f"{path.relative_to(root)}:{line} ({own}) imports {module} ({target})")
    return wrong


def test_no_module_imports_a_layer_above_its_own():
    wrong = upward_imports()
    assert not wrong, "\n".join(wrong)


def test_index_builds_only_on_core_and_text():
    wrong = [f"{p.relative_to(REPO)}:{line} imports {m}" for p in (REPO / "index").rglob("*.py")
             for line, m in imports(p) if m.split(".")[0] in {"rag", "ui", "eval", "cli"}]
    assert not wrong, "\n".join(wrong)


def test_each_outside_system_is_imported_by_one_module():
    wrong = []
    for path in project_modules():
        name = str(path.relative_to(REPO))
        for line, module in imports(path):
            for system, owners in OWNERS.items():
                if (module == system or module.startswith(system + ".")) and name not in owners | EXEMPT_FROM_OWNERS:
                    wrong.append(f"{name}:{line} imports {module} (only {sorted(owners) or 'through llama-index'})")
    assert not wrong, "\n".join(wrong)


def test_the_rule_catches_a_violation(tmp_path):
    """The checker itself, on a throwaway tree: a lazy upward import and a peer import are reported,
    a downward one is not."""
    for layer, source in {"index": "def f():\n    from rag.assistant import Assistant\n",
                          "ui": "import eval.metrics\n", "rag": "from index.store import Store\n"}.items():
        (tmp_path / layer).mkdir()
        (tmp_path / layer / "m.py").write_text(source)
    assert upward_imports(tmp_path) == ["index/m.py:2 (index) imports rag.assistant (rag)",
                                        "ui/m.py:1 (ui) imports eval.metrics (eval)"]
