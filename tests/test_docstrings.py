"""The examples in the docstrings run and give what they show: every module of the
installed package is searched (as ``pytest --doctest-modules`` would, but on the compiled,
installed gtok rather than the source folder, whose extensions are not built in place)."""

import doctest
import importlib
import pkgutil

import pytest

import gtok

# gtok.__main__ runs the program when imported
SKIP = {"gtok.__main__"}
MODULES = sorted(
    m.name for m in pkgutil.walk_packages(gtok.__path__, "gtok.") if m.name not in SKIP
)

# optional packages a module's examples (or the module itself) import: the test skips
# without them, as the module's own tests do
NEEDS = {
    "gtok.batch.dask_engine": ["distributed"],
    "gtok.batch.ray_engine": ["ray"],
    "gtok.singlecell.matrix": ["anndata", "pandas", "scipy.sparse"],
    "gtok.io.parquet": ["pyarrow"],
    "gtok.train.torchclasses": ["torch"],
    "gtok.train.torchdata": ["torch"],
}


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    for package in NEEDS.get(name, ()):
        pytest.importorskip(package)
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_every_layer_is_searched() -> None:
    for layer in ("gtok.io.", "gtok.batch.", "gtok.train.", "gtok.singlecell.", "gtok._lib."):
        assert any(m.startswith(layer) for m in MODULES), layer


def test_some_examples_exist() -> None:
    total = 0
    for name in MODULES:
        if any(importlib.util.find_spec(p.split(".")[0]) is None for p in NEEDS.get(name, ())):
            continue
        finder = doctest.DocTestFinder()
        total += sum(len(t.examples) for t in finder.find(importlib.import_module(name)))
    assert total >= 30
