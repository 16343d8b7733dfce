"""Fuzzing batch manifests (``gtok-manifest.json``): damaged bytes or JSON values, read by
``load_manifest``, ``gtok.batch.verify.verify``, ``GtokDataset`` and a ``--resume`` run.

Oracles (docs/semantics.md §6-7): ``load_manifest`` gives the manifest or a
``ManifestFormatError`` naming it; ``verify`` reports problems and never raises, and
reports one for a manifest it cannot use; a dataset opens or raises a typed error; a
resumed run never fails because of the manifest and leaves every output with the ids a
fresh run makes, and a usable manifest behind.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gtok import GtokDataset, Tokenizer, pretokenize, read_gtok
from gtok.batch.verify import verify
from gtok.errors import (
    FingerprintMismatchError,
    GtokError,
    ManifestFormatError,
    UncheckedUniverseWarning,
    UnusableManifestWarning,
)
from gtok.io.manifest import load_manifest, manifest_problem

from batchdata import make_universe, write_bed
from fuzzlib import check_typed, fuzz_settings, mutated, scratch, watchdog, write


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """A universe, three inputs and the output folder of a batch run over them."""
    root = tmp_path_factory.mktemp("batch")
    universe = make_universe(root / "universe.bed", n_per_chrom=30)
    src = root / "src"
    for k in range(3):
        write_bed(src / f"s{k}.bed", 40, k)
    out = root / "out"
    assert pretokenize(str(universe), [str(src)], out, jobs=1).ok
    names = sorted(n for n in os.listdir(out) if n.endswith(".gtok"))
    ids = {name: read_gtok(out / name, copy=True).tolist() for name in names}
    return str(universe), str(src), str(out), ids


json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=True),
        st.text(max_size=8),
        st.sampled_from(["ok", "skipped", "error", "pending", "s0.gtok", "/", "", "..", "\0"]),
    ),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(), children),
    max_leaves=6,
)


@st.composite
def json_damage(draw, doc):
    """``doc`` with a value somewhere in it replaced, added or removed."""
    doc = json.loads(json.dumps(doc))
    node = doc
    while True:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            break
        key = draw(st.sampled_from(keys))
        child = node[key]
        if isinstance(child, (dict, list)) and child and draw(st.integers(0, 3)):
            node = child
            continue
        how = draw(st.sampled_from(["replace", "delete"]))
        if how == "delete":
            del node[key]
        else:
            node[key] = draw(json_values)
        break
    return json.dumps(doc, allow_nan=True).encode()


@fuzz_settings(0.5)
@given(data=st.data(), raw_bytes=st.booleans())
def test_a_damaged_manifest_is_reported_redone_or_refused_never_a_crash(batch, data, raw_bytes):
    universe, src, good_out, ids = batch
    tok = Tokenizer(universe)
    with scratch() as folder, watchdog():
        out = os.path.join(folder, "out")
        shutil.copytree(good_out, out)
        mpath = os.path.join(out, "gtok-manifest.json")
        with open(mpath, "rb") as f:
            text = f.read()
        if raw_bytes:
            damaged = data.draw(mutated(text)).data
        else:
            damaged = data.draw(json_damage(json.loads(text)))
        write(mpath, damaged)
        try:
            manifest = load_manifest(mpath)
        except Exception as exc:
            check_typed(exc, (ManifestFormatError,), mpath)
            manifest = None
        else:
            assert manifest_problem(manifest) is None
        report = verify([out], tok)  # never raises
        if manifest is None:
            assert not report.ok and any(mpath in p for p in report.problems)
        try:
            with warnings.catch_warnings():  # (a damaged manifest may record no universe)
                warnings.simplefilter("ignore", UncheckedUniverseWarning)
                GtokDataset(mpath, tokenizer=tok)
        except Exception as exc:
            assert isinstance(exc, (GtokError, OSError)), repr(exc)
            if manifest is None:
                check_typed(exc, (ManifestFormatError,), mpath)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnusableManifestWarning)
            try:
                summary = pretokenize(universe, [src], out, jobs=1, resume=True)
            except FingerprintMismatchError as exc:
                # a damaged fingerprint that still looks like one reads as another
                # universe's run: refused, naming the manifest, unless overwrite
                assert manifest is not None and mpath in str(exc)
                assert manifest["universe"]["fingerprint"] != tok.fingerprint
                summary = pretokenize(universe, [src], out, jobs=1, resume=True, overwrite=True)
        assert summary.ok, summary
        got = {name: read_gtok(os.path.join(out, name), copy=True).tolist() for name in ids}
        assert got == ids
        assert manifest_problem(load_manifest(mpath)) is None
        assert verify([out], tok).ok
