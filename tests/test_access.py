"""Who can reach the UI and what it lets them read or write.

`rag ui` listens on 127.0.0.1 unless told otherwise; with RAG_UI_USER/RAG_UI_PASSWORD nothing about the documents
is served before login (tests/test_ui_browser.py::test_password_and_upload_cap checks the config and the upload
route); the file route serves no file outside gradio's own upload folder; uploads land in the index's uploads folder
under safe names, whatever their names say, and refusals are told to the person.
"""
from __future__ import annotations

import html
import json
import os
import socket
import subprocess
import uuid
from pathlib import Path

import pytest

from rag.assistant import Assistant
from core.settings import Settings
from ui import uploads
from uihelpers import login, multipart, opener, response, running_ui, status

pytestmark = pytest.mark.slow

USER, PASSWORD = "ann", "s3cret"
CAP_BYTES = 2000
SECRET_NAME = "zorblat_secret_notes.txt"
SECRET_FACT = "The Zorblat festival is held every year in the town of Quenby."


@pytest.fixture(scope="module")
def served(tmp_path_factory, embedder):
    """(URL, index folder, the indexed document outside it) of `rag ui` run with a password and the default host."""
    root = tmp_path_factory.mktemp("access")
    docs = root / "docs"
    docs.mkdir()
    (docs / SECRET_NAME).write_text(f"Festival notes.\n\n{SECRET_FACT}\n")
    assert not Assistant(root / "index", embedder=embedder).ingest([docs]).failed
    with running_ui(root / "index", host=None, RAG_UI_USER=USER, RAG_UI_PASSWORD=PASSWORD,
                    RAG_UI_UPLOAD_MB=str(CAP_BYTES / 1e6)) as url:
        yield url, root / "index", docs / SECRET_NAME


@pytest.fixture
def session(served):
    """A logged-in browser session."""
    browser = opener()
    assert login(browser, served[0], USER, PASSWORD) == 200
    return browser


def send(browser, url: str, name: str, payload: bytes) -> str:
    """Upload one file through gradio's upload route; the path gradio stored it under."""
    code, body = response(browser, url + "gradio_api/upload", *multipart(name, payload))
    assert code == 200, body
    return json.loads(body)[0]


def call(browser, url: str, api: str, data: list) -> tuple[str, object]:
    """Run an event through the HTTP API as a client program would; (last event type, its data)."""
    code, body = response(browser, url + f"gradio_api/call/{api}", json.dumps({"data": data}).encode(),
                          {"Content-Type": "application/json"})
    assert code == 200, body
    code, stream = response(browser, url + f"gradio_api/call/{api}/{json.loads(body)['event_id']}")
    events = [block.split("\n") for block in stream.decode().strip().split("\n\n")]
    kind, data_line = events[-1][0], events[-1][1]
    return kind.removeprefix("event: "), json.loads(data_line.removeprefix("data: "))


def file_data(path: str) -> dict:
    return {"path": path, "meta": {"_type": "gradio.FileData"}}


# --- the address

def other_addresses() -> list[str]:
    """This machine's addresses other than loopback."""
    found = subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split()
    return [a for a in found if not a.startswith("127.") and a != "::1"]


def reachable(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=3):
            return True
    except OSError:
        return False


def test_the_ui_listens_on_loopback_only(served):
    port = int(served[0].rstrip("/").rsplit(":", 1)[1])
    addresses = other_addresses()
    if not addresses:
        pytest.skip("this machine has no address besides loopback to try the UI on")
    assert reachable("127.0.0.1", port)
    for address in addresses:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        with socket.socket(family) as listener:                  # the address is reachable when listened on
            listener.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", 0))
            listener.listen()
            assert reachable(address, listener.getsockname()[1]), address
        assert not reachable(address, port), f"the UI answers on {address}"


# --- the password

def test_nothing_about_the_documents_is_served_before_login(served, session):
    url, index, _ = served
    copy = send(session, url, "notes.txt", b"Some notes.")
    assert status(session, url + f"gradio_api/file={copy}") == 200
    stranger = opener()
    pages = {page: response(stranger, url + page) for page in ("", "?all_endpoints=true", "gradio_api/runs")}
    assert pages[""][0] == 200 and b'"auth_required":true' in pages[""][1]  # the login page and its API summary
    assert [page for page, (_, body) in pages.items() if b"zorblat" in body.lower()] == []
    refused = {page: status(stranger, url + page) for page in (
        "gradio_api/info", "gradio_api/openapi.json", f"gradio_api/file={copy}",
        f"gradio_api/file={index / 'chroma.sqlite3'}", "gradio_api/queue/data?session_hash=x")}
    question = json.dumps({"data": ["Where is the Zorblat festival held?", "offline", 6, [], "", ""],
                           "fn_index": 0, "session_hash": "x"}).encode()
    for api in ("gradio_api/queue/join", "gradio_api/call/ask", "gradio_api/run/ask"):
        refused[api] = status(stranger, url + api, question, {"Content-Type": "application/json"})
    assert all(code in (401, 403) for code in refused.values()), refused


# --- the file route

def test_the_file_route_serves_no_file_outside_gradios_upload_folder(served, session, tmp_path):
    url, index, indexed = served
    uploaded = send(session, url, "listed.txt", b"Listed notes.")
    kind, _ = call(session, url, "upload", [[file_data(uploaded)], []])
    assert kind == "complete" and (uploads.uploads_dir(index) / "listed.txt").is_file()
    outside = [Path("/etc/passwd"), index / "chroma.sqlite3", uploads.uploads_dir(index) / "listed.txt", indexed,
               Path(uploaded).parent / ".." / ".." / ".." / "etc" / "passwd"]
    codes = {str(path): status(session, url + f"gradio_api/file={path}") for path in outside}
    codes["relative"] = status(session, url + "gradio_api/file=../../../../../../etc/passwd")
    assert all(code in (403, 404) for code in codes.values()), codes
    assert status(session, url + f"gradio_api/file={uploaded}") == 200


# --- uploads

def test_uploads_land_in_the_uploads_folder_under_safe_names(served, session):
    url, index, _ = served
    tag = uuid.uuid4().hex[:8]
    folder = uploads.uploads_dir(index)
    absolute = index.parent / f"{tag}-absolute.txt"
    names = [f"../../{tag}-dots.txt", str(absolute), f"..\\..\\{tag}-backslash.txt"]
    copies = [send(session, url, name, f"Notes number {n}.".encode()) for n, name in enumerate(names)]
    kind, (summary, *_) = call(session, url, "upload", [[file_data(c) for c in copies], []])
    assert kind == "complete" and summary.count(": indexed") == len(names), summary
    stored = sorted(p.name for p in folder.iterdir() if tag in p.name)
    assert stored == [f"{tag}-absolute.txt", f"{tag}-backslash.txt", f"{tag}-dots.txt"]
    naive = [Path(os.path.normpath(base / name)) for base in (folder, Path(copies[0]).parent) for name in names[:2]]
    assert not any(path.exists() for path in naive), naive            # where the names, taken as paths, lead


def test_refused_uploads_are_told_and_server_files_cannot_be_passed_off_as_uploads(served, session, tmp_path):
    url, index, indexed = served
    tool = send(session, url, "tool.exe", b"MZ\x00\x00")
    kind, (summary, *_) = call(session, url, "upload", [[file_data(tool)], []])
    assert kind == "complete" and "tool.exe</b>: not added: unsupported file type '.exe'" in html.unescape(summary)
    code, body = response(session, url + "gradio_api/upload", *multipart("big.txt", b"x" * (CAP_BYTES + 1)))
    assert code == 413 and f"maximum allowed size of {CAP_BYTES} bytes" in body.decode()
    server_file = tmp_path / "server_notes.txt"
    server_file.write_text("Private notes of the server.")
    for path in (server_file, indexed):                           # a path on the server, not an upload
        kind, _ = call(session, url, "upload", [[file_data(str(path))], []])
        assert kind == "error"
    assert not (uploads.uploads_dir(index) / "server_notes.txt").exists()
    assert not (uploads.uploads_dir(index) / SECRET_NAME).exists()


# --- the uploads folder, without a server

def test_names_with_nul_or_newline_and_dangling_links_stay_inside(tmp_path, embedder):
    from ui.app import Handlers

    settings = Settings(index_dir=tmp_path / "index")
    handlers = Handlers(Assistant(settings=settings, embedder=embedder), settings)
    folder = handlers.uploads
    folder.mkdir(parents=True)
    target = tmp_path / "created-through-link.txt"
    os.symlink(target, folder / "report.txt")                      # a dangling link: writing through it creates
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "report.txt").write_text("The quarterly report is due on Friday.")
    (inbox / "line\nbreak.txt").write_text("The ferry leaves at noon.")
    summary, table, *_ = handlers.upload([str(inbox / "report.txt"), str(inbox / "line\nbreak.txt"),
                                          str(inbox / "nul\x00.txt")], [])
    assert "report.txt</b>: indexed" in summary and "line_break.txt" in table
    assert "not added: the upload could not be read" in summary     # the NUL name, told and skipped
    assert not target.exists() and not (folder / "report.txt").is_symlink()
    assert sorted(p.name for p in folder.iterdir()) == ["line_break.txt", "report.txt"]
