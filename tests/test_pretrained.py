"""``Tokenizer.from_pretrained`` and ``save_pretrained``: gtars' folder layout
(``universe.bed.gz``), a gtars TOML config, geniml's ``universe.bed``, and Hugging Face Hub
repositories read through the real ``huggingface_hub`` code: from a pre-populated cache in
offline mode, and from a Hub stand-in on the loopback interface. No test touches the network.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from gtok import Tokenizer
from gtok.errors import BedFormatError, ConfigError

# some overlapping, one repeated (it keeps its first id), chromosomes out of name order
ROWS = [
    ("chr2", 0, 50),
    ("chr1", 100, 200),
    ("chr1", 150, 400),
    ("chr1", 300, 400),
    ("chr10", 5, 10),
    ("chr1", 100, 200),
    ("chrX", 1000, 2000),
]
QUERIES = [("chr1", 150, 350), ("chr3", 0, 10), ("chr10", 0, 100), ("chrX", 0, 1500)]
CUSTOM = {"unk": "[UNK]", "pad": 'pad "quoted"', "mask": "m\\ask\t", "sep": "séparé ✓"}
NAMES = ("unk", "pad", "mask", "cls", "eos", "bos", "sep")
COMMIT_OLD = "0123456789abcdef0123456789abcdef01234567"
COMMIT_NEW = "89abcdef0123456789abcdef0123456789abcdef"


def bed_text(rows) -> bytes:
    return b"".join(b"%s\t%d\t%d\n" % (c.encode(), s, e) for c, s, e in rows)


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def config(universe: str, specials: dict | None = None) -> bytes:
    lines = [f"universe = {json.dumps(universe)}", "special_tokens = ["]
    lines += [
        f"  {{name = {json.dumps(n)}, token = {json.dumps(t, ensure_ascii=False)}}},"
        for n, t in (specials or {}).items()
    ]
    return ("\n".join(lines) + "\n]\n").encode()


def assert_same(a: Tokenizer, b: Tokenizer) -> None:
    assert a.fingerprint == b.fingerprint
    assert a.get_vocab() == b.get_vocab()
    assert a.special_tokens_map == b.special_tokens_map
    assert a.tokenize(QUERIES).ids.tolist() == b.tokenize(QUERIES).ids.tolist()


@pytest.fixture
def plain(tmp_path) -> Tokenizer:
    return Tokenizer(write(tmp_path / "src" / "u.bed", bed_text(ROWS)))


@pytest.fixture
def no_hub(monkeypatch):
    """``import huggingface_hub`` fails, as where it is not installed."""
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)


# ================================================================== local folders


def test_folder_with_gtars_layout(tmp_path, plain):
    write(tmp_path / "tok" / "universe.bed.gz", gzip.compress(bed_text(ROWS)))
    tok = Tokenizer.from_pretrained(tmp_path / "tok")
    assert_same(tok, plain)
    assert tok.universe.source == str(tmp_path / "tok" / "universe.bed.gz")
    assert Tokenizer.from_pretrained(str(tmp_path / "tok")).fingerprint == plain.fingerprint


def test_folder_with_geniml_universe_bed(tmp_path, plain):
    write(tmp_path / "model" / "universe.bed", bed_text(ROWS))
    write(tmp_path / "model" / "config.yaml", b"vocab_size: 13\n")
    assert_same(Tokenizer.from_pretrained(tmp_path / "model"), plain)


def test_config_wins_over_universe_files(tmp_path, plain):
    folder = tmp_path / "tok"
    write(folder / "peaks.bed", bed_text(ROWS))
    write(folder / "universe.bed.gz", gzip.compress(bed_text(ROWS[:2])))
    write(folder / "universe.bed", bed_text(ROWS[:1]))
    write(folder / "tokenizer.toml", config("peaks.bed", CUSTOM))
    tok = Tokenizer.from_pretrained(folder)
    assert tok.tokenize(QUERIES).ids.tolist() == plain.tokenize(QUERIES).ids.tolist()
    assert tok.universe.n_regions == plain.universe.n_regions
    assert tok.unk_token == "[UNK]" and tok.sep_token == "séparé ✓" and tok.cls_token == "<cls>"
    # universe.bed.gz beats universe.bed
    (folder / "tokenizer.toml").unlink()
    assert Tokenizer.from_pretrained(folder).universe.n_regions == 2


def test_folder_without_tokenizer(tmp_path):
    write(tmp_path / "empty" / "README.md", b"nothing here\n")
    with pytest.raises(FileNotFoundError) as err:
        Tokenizer.from_pretrained(tmp_path / "empty")
    assert err.value.filename == str(tmp_path / "empty")
    assert "tokenizer.toml, universe.bed.gz, universe.bed" in str(err.value)


def test_bad_files_in_folder_keep_their_errors(tmp_path):
    write(tmp_path / "a" / "universe.bed.gz", gzip.compress(b"chr1\t5\t1\n"))
    with pytest.raises(BedFormatError, match="universe.bed.gz"):
        Tokenizer.from_pretrained(tmp_path / "a")
    write(tmp_path / "b" / "tokenizer.toml", b"universe = 'missing.bed'\n")
    with pytest.raises(ConfigError, match="missing.bed"):
        Tokenizer.from_pretrained(tmp_path / "b")


def test_file_reads_as_the_constructor(tmp_path, plain):
    path = write(tmp_path / "u.bed.gz", gzip.compress(bed_text(ROWS)))
    assert_same(Tokenizer.from_pretrained(path), plain)
    cfg = write(tmp_path / "c.toml", config("u.bed.gz", CUSTOM))
    assert Tokenizer.from_pretrained(cfg).unk_token == "[UNK]"


@pytest.mark.parametrize(
    "name", ["missing", "./owner/name", "/no/such/folder", "a/b/c", "a..b/c", "-a/b", "a/b/"]
)
def test_missing_paths_that_are_not_repo_ids(tmp_path, monkeypatch, no_hub, name):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match="Hub repository id") as err:
        Tokenizer.from_pretrained(name)
    assert err.value.filename == name


def test_a_path_object_is_always_local(tmp_path, monkeypatch, no_hub):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError):
        Tokenizer.from_pretrained(Path("owner/name"))


def test_a_local_folder_shadows_the_repo(tmp_path, monkeypatch, no_hub, plain):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "owner" / "name" / "universe.bed", bed_text(ROWS))
    assert_same(Tokenizer.from_pretrained("owner/name"), plain)
    (tmp_path / "owner" / "name" / "universe.bed").unlink()
    with pytest.raises(FileNotFoundError, match="rather than the Hub repository"):
        Tokenizer.from_pretrained("owner/name")


def test_revision_needs_a_repo(tmp_path):
    write(tmp_path / "tok" / "universe.bed", bed_text(ROWS))
    with pytest.raises(ValueError, match="revision='v1'.*local path"):
        Tokenizer.from_pretrained(tmp_path / "tok", revision="v1")


def test_repo_id_without_huggingface_hub(tmp_path, monkeypatch, no_hub):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ImportError, match=r'pip install "gtok\[hub\]"') as err:
        Tokenizer.from_pretrained("databio/some-tokenizer")
    assert err.value.name == "huggingface_hub"
    assert "'databio/some-tokenizer' is not a local folder" in str(err.value)


# ================================================================== save_pretrained


@pytest.mark.parametrize("specials", [None, CUSTOM], ids=["default", "custom"])
def test_round_trip(tmp_path, plain, specials):
    tok = plain
    if specials:
        write(tmp_path / "c" / "tokenizer.toml", config("../src/u.bed", specials))
        tok = Tokenizer(tmp_path / "c" / "tokenizer.toml")
    out = tok.save_pretrained(tmp_path / "deep" / "er" / "tok")
    assert out == str(tmp_path / "deep" / "er" / "tok")
    assert sorted(os.listdir(out)) == ["tokenizer.toml", "universe.bed.gz"]
    back = Tokenizer.from_pretrained(out)
    assert_same(back, tok)
    assert back.tokenize(QUERIES, unk="per_region").ids.tolist() == (
        tok.tokenize(QUERIES, unk="per_region").ids.tolist()
    )
    # the universe file alone (gtars' from_pretrained reads only it) gives the same ids
    alone = Tokenizer(Path(out, "universe.bed.gz"))
    assert alone.get_vocab().keys() - {f"<{n}>" for n in NAMES} == (
        tok.get_vocab().keys() - set(tok.special_tokens_map.values())
    )
    assert alone.tokenize(QUERIES).ids.tolist() == tok.tokenize(QUERIES).ids.tolist()


def test_saved_files(tmp_path, plain):
    out = Path(plain.save_pretrained(tmp_path / "tok"))
    # the distinct regions in id order: the repeated row is gone, ids unchanged
    distinct = list(dict.fromkeys(ROWS))
    assert gzip.decompress((out / "universe.bed.gz").read_bytes()) == bed_text(distinct)
    if sys.version_info >= (3, 11):
        import tomllib

        cfg = tomllib.loads((out / "tokenizer.toml").read_text(encoding="utf-8"))
        assert cfg == {
            "universe": "universe.bed.gz",
            "tokenizer_type": "bits",
            "special_tokens": [{"name": n, "token": f"<{n}>"} for n in NAMES],
        }
    # reproducible: the same tokenizer gives the same bytes (no time stamp, no name)
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    again = Path(Tokenizer.from_pretrained(out).save_pretrained(tmp_path / "again"))
    assert {p.name: p.read_bytes() for p in again.iterdir()} == first


def test_save_into_an_existing_folder(tmp_path, plain):
    folder = tmp_path / "model"
    write(folder / "checkpoint.pt", b"weights")
    write(folder / "universe.bed.gz", gzip.compress(b"chr9\t1\t2\n"))
    write(folder / "tokenizer.toml", config("universe.bed.gz", {"unk": "old"}))
    plain.save_pretrained(folder)
    assert (folder / "checkpoint.pt").read_bytes() == b"weights"
    assert_same(Tokenizer.from_pretrained(folder), plain)
    assert not [p for p in os.listdir(folder) if p.endswith(".tmp")]


def test_save_into_a_file(tmp_path, plain):
    target = write(tmp_path / "file", b"x")
    with pytest.raises(NotADirectoryError) as err:
        plain.save_pretrained(target)
    assert err.value.filename == str(target)
    assert target.read_bytes() == b"x"


def test_round_trip_of_names_that_are_not_utf8(tmp_path):
    path = write(tmp_path / "u.bed", b"chr\xff1\t0\t10\nchr1\t5\t20\n")
    tok = Tokenizer(path)
    back = Tokenizer.from_pretrained(tok.save_pretrained(tmp_path / "tok"))
    assert back.fingerprint == tok.fingerprint
    assert back.tokenize([(b"chr\xff1", 0, 10)]).ids.tolist() == [0]


def test_round_trip_of_an_empty_universe(tmp_path):
    tok = Tokenizer(write(tmp_path / "u.bed", b""))
    back = Tokenizer.from_pretrained(tok.save_pretrained(tmp_path / "tok"))
    assert back.fingerprint == tok.fingerprint and back.vocab_size == 7


# ================================================================== gtars (the reference)


@pytest.fixture(scope="module")
def gtars_tokenizers():
    return pytest.importorskip("gtars.tokenizers")


def test_gtars_reads_the_same_folder(tmp_path, gtars_tokenizers, plain):
    folder = tmp_path / "tok"
    write(folder / "universe.bed.gz", gzip.compress(bed_text(list(dict.fromkeys(ROWS)))))
    queries = write(tmp_path / "q.bed", bed_text(QUERIES))
    ref = gtars_tokenizers.Tokenizer.from_pretrained(str(folder))
    tok = Tokenizer.from_pretrained(folder)
    assert tok.get_vocab() == ref.get_vocab()
    assert tok(queries)["input_ids"] == ref(str(queries))["input_ids"]


@pytest.mark.parametrize("specials", [None, CUSTOM], ids=["default", "custom"])
def test_gtars_reads_what_gtok_saves(tmp_path, gtars_tokenizers, plain, specials):
    tok = plain
    if specials:
        write(tmp_path / "c" / "tokenizer.toml", config("../src/u.bed", specials))
        tok = Tokenizer(tmp_path / "c" / "tokenizer.toml")
    out = tok.save_pretrained(tmp_path / "tok")
    queries = str(write(tmp_path / "q.bed", bed_text(QUERIES)))
    want = tok(queries)["input_ids"]
    # gtars' from_pretrained: universe.bed.gz, default special tokens, the same ids
    ref = gtars_tokenizers.Tokenizer.from_pretrained(out)
    assert ref(queries)["input_ids"] == want
    assert ref.get_vocab().keys() - {f"<{n}>" for n in NAMES} == (
        tok.get_vocab().keys() - set(tok.special_tokens_map.values())
    )
    # gtars given the config: the special tokens too
    ref = gtars_tokenizers.Tokenizer(os.path.join(out, "tokenizer.toml"))
    assert ref.get_vocab() == tok.get_vocab()
    assert ref.special_tokens_map == tok.special_tokens_map
    assert ref(queries)["input_ids"] == want


# ================================================================== the Hub: a cache, offline


class NetworkUsed(BaseException):
    """Raised by any socket connection (not an ``Exception``: nothing may swallow it)."""


def add_to_cache(cache: Path, repo_id: str, commit: str, files: dict, refs=("main",)) -> Path:
    """A model repository's files in huggingface_hub's cache layout: content-addressed blobs,
    a snapshot folder per commit whose entries link to them, and refs naming commits."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / commit
    for name, data in files.items():
        blob = write(repo / "blobs" / hashlib.sha256(data).hexdigest(), data)
        entry = snapshot / name
        entry.parent.mkdir(parents=True, exist_ok=True)
        entry.symlink_to(os.path.relpath(blob, entry.parent))
    for ref in refs:
        write(repo / "refs" / ref, commit.encode())
    return snapshot


@pytest.fixture
def hf_cache(tmp_path, monkeypatch):
    """An empty Hugging Face cache, offline mode, and no socket may connect.

    huggingface_hub reads ``HF_HOME``, ``HF_HUB_CACHE`` and ``HF_HUB_OFFLINE`` once, when
    imported, into ``huggingface_hub.constants``; its modules read them from there at each
    call (recent releases) or keep their own copies (older ones). So besides the variables,
    every copy in an imported huggingface_hub module is set, the file-download module
    imported first so that it has its copies to set. (The subprocess tests below set only
    the variables, before the import, as a user does.)
    """
    pytest.importorskip("huggingface_hub")
    import huggingface_hub.file_download  # noqa: F401

    cache = tmp_path / "hf" / "hub"
    cache.mkdir(parents=True)
    values = {"HF_HOME": str(tmp_path / "hf"), "HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": True}
    for name, value in values.items():
        monkeypatch.setenv(name, "1" if value is True else value)
        for module in [m for n, m in sys.modules.items() if n.startswith("huggingface_hub")]:
            if hasattr(module, name):
                monkeypatch.setattr(module, name, value)

    def refuse(*args, **kwargs):
        raise NetworkUsed(f"a connection was attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.chdir(tmp_path)  # no local folder "owner/name"
    return cache


@pytest.fixture
def cached_repo(hf_cache):
    """``owner/tok``: an older commit (two regions; tag ``v1``) and ``main``."""
    old = add_to_cache(
        hf_cache, "owner/tok", COMMIT_OLD, {"universe.bed.gz": gzip.compress(bed_text(ROWS[:2]))}
    )
    write(old.parents[1] / "refs" / "v1", COMMIT_OLD.encode())
    add_to_cache(
        hf_cache, "owner/tok", COMMIT_NEW, {"universe.bed.gz": gzip.compress(bed_text(ROWS))}
    )
    return hf_cache


def test_hub_main(cached_repo, plain):
    tok = Tokenizer.from_pretrained("owner/tok")
    assert_same(tok, plain)
    assert tok.universe.source == str(
        cached_repo / "models--owner--tok" / "snapshots" / COMMIT_NEW / "universe.bed.gz"
    )
    assert Tokenizer.from_pretrained("owner/tok", revision="main").fingerprint == tok.fingerprint


@pytest.mark.parametrize("revision", [COMMIT_OLD, "v1"])
def test_hub_revision(cached_repo, revision):
    tok = Tokenizer.from_pretrained("owner/tok", revision=revision)
    assert tok.universe.n_regions == 2
    assert tok.universe.source.endswith(f"{COMMIT_OLD}/universe.bed.gz")


def test_hub_config_and_its_universe(hf_cache, plain):
    snapshot = add_to_cache(
        hf_cache,
        "owner/tok",
        COMMIT_NEW,
        {
            "tokenizer.toml": config("data/peaks.bed.gz", CUSTOM),
            "data/peaks.bed.gz": gzip.compress(bed_text(ROWS)),
            "universe.bed.gz": gzip.compress(bed_text(ROWS[:1])),
        },
    )
    tok = Tokenizer.from_pretrained("owner/tok")
    assert tok.unk_token == "[UNK]"
    assert tok.universe.source == str(snapshot / "data" / "peaks.bed.gz")
    assert tok.tokenize(QUERIES).ids.tolist() == plain.tokenize(QUERIES).ids.tolist()


def test_hub_saved_folder_uploaded(hf_cache, tmp_path, plain):
    """What save_pretrained writes, as a repository's files, reads back the same."""
    folder = Path(plain.save_pretrained(tmp_path / "upload"))
    add_to_cache(
        hf_cache, "owner/tok", COMMIT_NEW, {p.name: p.read_bytes() for p in folder.iterdir()}
    )
    assert_same(Tokenizer.from_pretrained("owner/tok"), plain)


def test_hub_geniml_universe_bed(hf_cache, plain):
    add_to_cache(
        hf_cache,
        "databio/r2v-model",
        COMMIT_NEW,
        {"universe.bed": bed_text(ROWS), "checkpoint.pt": b"w", "config.yaml": b"a: 1\n"},
    )
    assert_same(Tokenizer.from_pretrained("databio/r2v-model"), plain)


@pytest.mark.parametrize(
    "universe, problem",
    [
        ("../../other/u.bed", "not a file inside"),
        ("/etc/hosts", "not a file inside"),
        ("missing.bed.gz", "not found in the Hub repository"),
    ],
)
def test_hub_config_naming_a_universe_it_lacks(hf_cache, universe, problem):
    add_to_cache(hf_cache, "owner/tok", COMMIT_NEW, {"tokenizer.toml": config(universe)})
    with pytest.raises(ConfigError, match=problem) as err:
        Tokenizer.from_pretrained("owner/tok")
    assert err.value.path.endswith(f"{COMMIT_NEW}/tokenizer.toml")


def test_hub_repo_not_cached(hf_cache):
    with pytest.raises(FileNotFoundError) as err:
        Tokenizer.from_pretrained("owner/absent")
    message = str(err.value)
    assert err.value.filename == "owner/absent"
    assert str(hf_cache) in message and "HF_HUB_OFFLINE is set" in message
    assert "tokenizer.toml, universe.bed.gz, universe.bed" in message


def test_hub_repo_without_a_tokenizer(hf_cache):
    add_to_cache(hf_cache, "owner/tok", COMMIT_NEW, {"config.yaml": b"a: 1\n"})
    with pytest.raises(FileNotFoundError, match="holds none of tokenizer.toml"):
        Tokenizer.from_pretrained("owner/tok")


@pytest.mark.parametrize("revision", ["f" * 40, "v2"])
def test_hub_revision_not_cached(cached_repo, revision):
    with pytest.raises(FileNotFoundError, match=f"at revision '{revision}'"):
        Tokenizer.from_pretrained("owner/tok", revision=revision)


# ================================================================== the Hub: separate processes

_CHILD = """
import json, sys
from gtok import Tokenizer
out = []
for repo_id, revision in json.loads(sys.argv[1]):
    try:
        tok = Tokenizer.from_pretrained(repo_id, revision=revision)
        out.append([tok.fingerprint, tok.universe.source])
    except Exception as exc:
        out.append([type(exc).__name__, str(exc)])
print(json.dumps(out))
"""


def run_child(tmp_path: Path, calls: list, **env: str) -> list:
    """``from_pretrained`` in a new process whose environment has only ``env``'s
    Hugging Face variables, read when huggingface_hub is imported there."""
    full = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_"))}
    full.update(env)
    for proxy in ("http_proxy", "https_proxy", "all_proxy", "TRANSFORMERS_OFFLINE"):
        full.pop(proxy, None)
        full.pop(proxy.upper(), None)
    full["NO_PROXY"] = full["no_proxy"] = "127.0.0.1,localhost"
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(calls)],
        env=full,
        cwd=tmp_path,  # not the source folder
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_hub_environment_variables(tmp_path, plain):
    pytest.importorskip("huggingface_hub")
    home = tmp_path / "hf-home"
    add_to_cache(
        home / "hub", "owner/tok", COMMIT_NEW, {"universe.bed.gz": gzip.compress(bed_text(ROWS))}
    )
    calls = [["owner/tok", None], ["owner/absent", None]]
    # HF_HOME/hub is the cache; HF_HUB_OFFLINE=1: nothing is asked of the (unreachable) Hub
    found, missing = run_child(
        tmp_path, calls, HF_HOME=str(home), HF_HUB_OFFLINE="1", HF_ENDPOINT="http://127.0.0.1:9"
    )
    assert found[0] == plain.fingerprint
    assert missing[0] == "FileNotFoundError" and "HF_HUB_OFFLINE is set" in missing[1]
    # HF_HUB_CACHE names the cache itself
    moved = tmp_path / "moved"
    (home / "hub").rename(moved)
    found, _ = run_child(
        tmp_path, calls, HF_HUB_CACHE=str(moved), HF_HUB_OFFLINE="1", HF_HOME=str(home)
    )
    assert found == [
        plain.fingerprint,
        str(moved / "models--owner--tok" / "snapshots" / COMMIT_NEW / "universe.bed.gz"),
    ]


class FakeHub(http.server.BaseHTTPRequestHandler):
    """The Hub's file endpoint, ``/{owner}/{name}/resolve/{revision}/{path}``, for HEAD and
    GET, with the headers huggingface_hub reads (``X-Repo-Commit``, ``ETag``,
    ``X-Error-Code``). ``repos``: repo id -> {revision or commit -> commit};
    ``files``: commit -> {path -> bytes}."""

    repos: dict = {}
    files: dict = {}

    def log_message(self, *args):
        pass

    def _reply(self, body: bool) -> None:
        parts = self.path.split("?")[0].strip("/").split("/")
        if len(parts) < 5 or parts[2] != "resolve":
            return self._error(None)
        repo, revision, name = "/".join(parts[:2]), parts[3], "/".join(parts[4:])
        if repo not in self.repos:
            return self._error("RepoNotFound")
        commit = self.repos[repo].get(revision)
        if commit is None:
            return self._error("RevisionNotFound")
        data = self.files[commit].get(name)
        if data is None:
            return self._error("EntryNotFound")
        self.send_response(200)
        self.send_header("X-Repo-Commit", commit)
        self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data)

    def _error(self, code: str | None) -> None:
        self.send_response(404)
        if code:
            self.send_header("X-Error-Code", code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_HEAD(self):
        self._reply(False)

    def do_GET(self):
        self._reply(True)


def test_hub_download_then_offline(tmp_path):
    """Online (a Hub stand-in on 127.0.0.1): the files land in the cache; then offline, with
    the stand-in gone, the cache alone serves them."""
    pytest.importorskip("huggingface_hub")
    FakeHub.repos = {"owner/tok": {"main": COMMIT_NEW, COMMIT_NEW: COMMIT_NEW}}
    FakeHub.files = {
        COMMIT_NEW: {
            "tokenizer.toml": config("universe.bed.gz", CUSTOM),
            "universe.bed.gz": gzip.compress(bed_text(ROWS)),
        }
    }
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    home = tmp_path / "hf-home"
    calls = [["owner/tok", None], ["owner/absent", None], ["owner/tok", "v9"]]
    try:
        online = run_child(
            tmp_path,
            calls,
            HF_HOME=str(home),
            HF_ENDPOINT=f"http://127.0.0.1:{server.server_address[1]}",
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    (fingerprint, source), absent, revision = online
    write(tmp_path / "c" / "u.bed", bed_text(ROWS))
    custom = Tokenizer(write(tmp_path / "c" / "tokenizer.toml", config("u.bed", CUSTOM)))
    assert fingerprint == custom.fingerprint
    snapshot = home / "hub" / "models--owner--tok" / "snapshots" / COMMIT_NEW
    assert source == str(snapshot / "universe.bed.gz")
    assert sorted(os.listdir(snapshot)) == ["tokenizer.toml", "universe.bed.gz"]
    assert absent[0] == "FileNotFoundError" and "no such model repository" in absent[1]
    assert revision[0] == "FileNotFoundError" and "has no revision 'v9'" in revision[1]
    offline = run_child(tmp_path, calls[:1], HF_HOME=str(home), HF_HUB_OFFLINE="1")
    assert offline == [[fingerprint, source]]
