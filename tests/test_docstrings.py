"""The examples in the public docstrings run and give what they show."""

import doctest
import importlib

import pytest

MODULES = ["gtok.io.gtokfile", "gtok.tokenizer", "gtok.universe", "gtok.io.bedtext", "gtok.example",
           "gtok.io.pack", "gtok.train.collate", "gtok.train.dataset",
           "gtok.io.atomic", "gtok._lib._chromtable", "gtok._lib._radix", "gtok.errors",
           "gtok.singlecell.fragments", "gtok.io.bgzf", "gtok.singlecell.matrix", "gtok.io.parquet"]

# optional packages the examples of a module import (the test skips without them, as the
# module's own tests do)
NEEDS = {"gtok.singlecell.matrix": ["anndata", "pandas", "scipy.sparse"],
         "gtok.io.parquet": ["pyarrow"]}


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    for package in NEEDS.get(name, ()):
        pytest.importorskip(package)
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_some_examples_exist() -> None:
    total = 0
    for name in MODULES:
        finder = doctest.DocTestFinder()
        total += sum(len(t.examples) for t in finder.find(importlib.import_module(name)))
    assert total >= 10
