"""`rag serve`: one FastAPI app for programs and people. The only module that imports fastapi (and fastapi-offline)
and uvicorn.

    POST   /v1/chat/completions   OpenAI Chat Completions (streamed or not); `model` = an answer mode;
                                  extensions: request `documents`, `since`, `until`, `top_k`;
                                  response `sources`, `refused`, `notice` (see serve.openai_shapes)
    POST   /v1/completions        the legacy Completions API: the `prompt` is the question; the same extensions
    GET    /v1/models             the answer modes
    POST   /v1/ask                the Python API's Answer as JSON (as `rag ask --json`)
    GET    /v1/documents          the indexed documents with their metadata
    POST   /v1/documents          multipart upload (field `files`), the UI's size cap and type checks, a result a file
    DELETE /v1/documents/{source} remove a document by file name or path
    GET    /health                open to all
    /docs                         the OpenAPI page, its scripts served from here (fastapi-offline): no CDN
    /                             the chat UI (ui.app, imported only then), with its own login; without the UI,
                                  a redirect to /docs

Questions and uploads run on `serve.workers` (the event loop never waits for them). With RAG_API_KEY set,
every route but /health needs `Authorization: Bearer <key>` (serve.access). Errors have OpenAI's shape and
name the bad value; a traceback goes to the server log only.
"""
from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import AsyncIterator

from fastapi import FastAPI, File, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, StreamingResponse
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException

from core.errors import (BadDocument, BadQuestion, BadSetting, RagError, SettingsError, UnsupportedFile, unexpected,
                         user_message)
from core.records import Answer, Delta
from core.settings import LOOPBACK, Settings
from rag.startup import ready
from serve import access, openai_shapes as shapes
from serve.schema import AskRequest, ChatRequest, Completing, CompletionRequest, Filters
from serve.workers import Workers, pool_size
from ui import forms, uploads

log = logging.getLogger("serve")
CLIENT_ERRORS = (BadQuestion, SettingsError, BadSetting, UnsupportedFile, BadDocument)
DOCS_ASSETS = "/docs/assets"   # Swagger UI's script and CSS, from the fastapi-offline package (no CDN)


class Failure(Exception):
    """A request that fails with an HTTP status and an OpenAI-shaped error."""

    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None,
                 kind: str = "invalid_request_error"):
        super().__init__(message)
        self.status, self.body = status, shapes.error(message, kind, param, code)


@dataclass
class Service:
    """What the routes share: the assistant, its settings, the workers and the uploads folder."""

    assistant: object
    settings: Settings
    workers: Workers

    @property
    def uploads(self) -> Path:
        return uploads.uploads_dir(self.settings.store.index_dir)


def create_app(assistant, settings: Settings, ui: bool = True) -> FastAPI:
    """The whole served app over one Assistant (the UI mounted at / unless `ui` is False)."""
    service = Service(assistant, settings, Workers(pool_size(settings.api.workers)))

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        yield
        service.workers.close()

    app = FastAPIOffline(title="docqa", version="1", lifespan=lifespan, description=__doc__.split("\n\n")[0],
                         static_url=DOCS_ASSETS, redoc_url=None)   # ReDoc would fetch its logo from a CDN
    _errors(app)
    _question_routes(app, service)
    _document_routes(app, service)
    _guard(app, settings)
    if ui:
        from ui.app import mount   # gradio: loaded only when the UI is served

        mount(app, assistant, settings)
    else:
        app.add_api_route("/", lambda: RedirectResponse("/docs"), include_in_schema=False)
    return app


# --- errors

def _errors(app: FastAPI) -> None:
    app.add_exception_handler(Failure, lambda _r, e: JSONResponse(e.body, e.status))
    app.add_exception_handler(RequestValidationError, lambda _r, e: _shaped(_invalid(e)))
    app.add_exception_handler(HTTPException, lambda _r, e: _shaped(Failure(e.status_code, str(e.detail))))
    app.add_exception_handler(RagError, lambda r, e: _shaped(failure_of(e, r.url.path)))
    app.add_exception_handler(Exception, lambda r, e: _shaped(failure_of(e, r.url.path)))   # a bug: also logged


def _shaped(failure: Failure) -> JSONResponse:
    return JSONResponse(failure.body, failure.status)


def _invalid(error: RequestValidationError) -> Failure:
    """A body that does not fit: the field, the problem and the value sent."""
    first = error.errors()[0]
    if first.get("type") == "json_invalid":
        return Failure(400, f"the request body is not valid JSON ({first.get('ctx', {}).get('error', 'unreadable')})")
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
    sent = f" (got {str(first.get('input'))[:80]!r})" if "input" in first and first.get("input") is not None else ""
    return Failure(400, f"{where or 'body'}: {first.get('msg', 'invalid')}{sent}", param=where or None)


def failure_of(error: BaseException, path: str = "") -> Failure:
    """The response for an error: the project's own as they are (400 when the request was at fault),
    anything else a 500 that names only its class (the traceback goes to the server log)."""
    if isinstance(error, Failure):
        return error
    if isinstance(error, CLIENT_ERRORS):
        param = shapes.question_field(path) if isinstance(error, BadQuestion) else None
        return Failure(400, user_message(error), param=param)
    if isinstance(error, RagError):
        return Failure(500, user_message(error), kind="server_error")
    log.error("unexpected error serving %s", path, exc_info=error)
    return Failure(500, unexpected(error), kind="server_error")


# --- access

def _guard(app: FastAPI, settings: Settings) -> None:
    key = settings.api.key.get_secret_value()
    if key:
        app.add_middleware(KeyCheck, key=key, ui_login=bool(settings.ui.user))


class KeyCheck:
    """ASGI middleware: a request that needs the key and lacks it gets a 401 (the key is never echoed)."""

    def __init__(self, app, key: str, ui_login: bool):
        self.app, self.key, self.ui_login = app, key, ui_login

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "")
        if scope["type"] not in ("http", "websocket") or not access.needs_key(path, True, self.ui_login) \
                or access.bearer_ok(_header(scope, b"authorization"), self.key):
            return await self.app(scope, receive, send)
        if scope["type"] == "websocket":
            return await send({"type": "websocket.close", "code": 1008})
        refusal = JSONResponse(shapes.error(access.refusal(path, self.ui_login), "invalid_request_error", None,
                                            "invalid_api_key"), 401, headers={"WWW-Authenticate": "Bearer"})
        await refusal(scope, receive, send)


def _header(scope, name: bytes) -> str:
    return next((v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == name), "")


# --- questions

def _question_routes(app: FastAPI, service: Service) -> None:
    @app.get("/health", tags=["service"])
    async def health():
        return {"status": "ok"}

    @app.get("/v1/models", tags=["openai"])
    async def list_models():
        return shapes.models(_models(service.assistant))

    @app.post(shapes.CHAT.route, tags=["openai"])
    async def chat_completions(request: ChatRequest):
        return await _complete(service, request, shapes.conversation(request.messages), shapes.CHAT)

    @app.post(shapes.TEXT.route, tags=["openai"])
    async def completions(request: CompletionRequest):
        """The legacy Completions API (llama-index's `OpenAILike` with default settings calls it): the prompt is
        asked as a question; the response has the same `sources`, `refused` and `notice` as a chat completion."""
        return await _complete(service, request, shapes.prompted(request.prompt), shapes.TEXT)

    @app.post("/v1/ask", tags=["documents"])
    async def ask(request: AskRequest):
        mode = _mode(service.assistant, request.mode)
        answer = await service.workers.ask(lambda: service.assistant.ask(
            request.question, history=request.history, mode=mode, **_filters(service.assistant, request)))
        return answer.to_dict()


def _models(assistant) -> list[str]:
    return ["auto", *assistant.available_modes()]


def _mode(assistant, model: str | None) -> str | None:
    """The requested answer mode, checked: a 404 names it and the ones there are."""
    usable = _models(assistant)
    if model is not None and model not in usable:
        raise Failure(404, f"model {model!r} does not exist here; the models are the answer modes: "
                           f"{', '.join(usable)}", param="model", code="model_not_found")
    return model


def _filters(assistant, request: Filters) -> dict:
    """The keyword filters of `Assistant.ask`, each checked (a 400 names the bad value); on a worker, as
    naming documents reads the store."""
    try:
        since, until = forms.date_range(request.since, request.until, ("since", "until"))
    except BadSetting as error:
        raise Failure(400, str(error), param=error.field) from None
    return {"sources": _documents(assistant, request.documents), "since": since, "until": until,
            "top_k": request.top_k}


def _documents(assistant, names: list[str] | None) -> list[str] | None:
    if not names:
        return None
    indexed = [d.source for d in assistant.documents()]
    found = [(name, assistant.indexed_source(name, indexed)) for name in names]
    missing = [name for name, source in found if not source]
    if missing:
        raise Failure(400, f"no indexed document matches {missing[0]!r} (GET /v1/documents lists them)",
                      param="documents", code="document_not_found")
    return [source for _, source in found]


@dataclass(frozen=True)
class Reply:
    """A response being streamed: its id, time, answer mode, and which of the two APIs it speaks."""

    ident: str
    created: int
    mode: str
    dialect: shapes.Dialect


async def _complete(service: Service, request: Completing, asked: shapes.Conversation, dialect: shapes.Dialect):
    """Answer a chat or legacy completion request, whole or as server-sent events."""
    model = _mode(service.assistant, request.model)
    ident, created = f"{dialect.prefix}{uuid.uuid4().hex[:24]}", int(time.time())

    def options() -> dict:   # on the worker, with the answer: naming documents reads the store
        return {"mode": model, "history": asked.history, **_filters(service.assistant, request)}

    if not request.stream:
        answer = await service.workers.ask(lambda: service.assistant.ask(asked.question, **options()))
        return shapes.completion(answer, ident, created, dialect)
    events = service.workers.stream(lambda: service.assistant.stream(asked.question, **options()))
    first = await anext(events)   # an error before the first event is an HTTP error, not a broken stream
    chunks = _sse(first, events, Reply(ident, created, service.assistant.mode_for(model), dialect))
    return StreamingResponse(chunks, media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def _sse(first, rest: AsyncIterator, reply: Reply) -> AsyncIterator[str]:
    """The answer as completion chunks: (chat) the role, a chunk a Delta, the final chunk with the sources, [DONE]."""
    for opening in shapes.opening(reply.ident, reply.created, reply.mode, reply.dialect):
        yield shapes.event(opening)
    try:
        yield _piece(first, reply)
        async for item in rest:
            yield _piece(item, reply)
    except Exception as error:  # noqa: BLE001 - the status line is sent: the error travels as an event
        yield shapes.event(failure_of(error, reply.dialect.route).body)
    yield shapes.event("[DONE]")


def _piece(item: Delta | Answer, reply: Reply) -> str:
    if isinstance(item, Delta):   # `restart`: this chunk's text replaces what was streamed before it
        restart = {"restart": True} if item.restart else {}
        return shapes.event(shapes.chunk(reply.ident, reply.created, reply.mode, item.text, dialect=reply.dialect,
                                         **restart))
    return shapes.event(shapes.final_chunk(item, reply.ident, reply.created, reply.dialect))


# --- documents

def _document_routes(app: FastAPI, service: Service) -> None:
    @app.get("/v1/documents", tags=["documents"])
    async def list_documents():
        documents = await service.workers.ask(service.assistant.documents)
        return {"object": "list", "data": [d.to_dict() | {"name": d.name} for d in documents]}

    @app.post("/v1/documents", tags=["documents"])
    async def upload(files: list[UploadFile] = File(..., description="Documents to index")):
        results = await service.workers.write(_receive, service, files)
        return {"object": "list", "data": [o.__dict__ for o in results]}

    @app.delete("/v1/documents/{source:path}", tags=["documents"])
    async def remove(source: str):
        removed = await service.workers.write(_remove, service, source)
        return {"object": "document", "source": removed, "deleted": True}

    @app.api_route("/v1/{rest:path}", methods=["GET", "POST", "PUT", "DELETE", "PATCH"], include_in_schema=False)
    async def unknown(rest: str):
        raise Failure(404, f"no route /v1/{rest} (see /docs)", code="not_found")


def _receive(service: Service, files: list[UploadFile]) -> list[uploads.Outcome]:
    """Save the uploads, keep the acceptable ones (the UI's checks), index them; one outcome a file."""
    with tempfile.TemporaryDirectory() as folder:
        paths = [_save(upload, Path(folder) / str(n)) for n, upload in enumerate(files)]
        accepted = uploads.store(paths, service.uploads, service.settings.ui.upload_mb,
                                 service.assistant.supported_types())
        report = uploads.indexed(accepted, service.assistant.ingest)   # a failed upload leaves no file
    return uploads.outcomes(report, accepted.refused, accepted.stored)


def _save(upload: UploadFile, folder: Path) -> Path:
    folder.mkdir()
    path = folder / uploads.safe_name(upload.filename or "")
    with open(path, "wb") as out:
        shutil.copyfileobj(upload.file, out)
    return path


def _remove(service: Service, source: str) -> str:
    """Remove a document (and its uploaded copy); the path removed, or a 404 naming what was asked."""
    match = service.assistant.remove(source)
    if not match:
        raise Failure(404, f"no indexed document matches {source!r} (GET /v1/documents lists them)",
                      param="source", code="document_not_found")
    uploads.forget(match, service.uploads)
    return match


# --- the server

def run(settings: Settings, assistant=None, ui: bool = True) -> None:
    """Serve on settings.api.host:port until interrupted: the API under /v1, and the UI at / unless `ui` is False
    (then gradio is never imported)."""
    import uvicorn

    keyed = bool(settings.api.key.get_secret_value())
    exposed = settings.api.host not in LOOPBACK and not keyed
    warning = f"the API on {settings.api.host} is reachable from the network without a key; set RAG_API_KEY"
    assistant, warm = ready(settings, assistant, warning if exposed else "", ui=ui)
    host, port = settings.api.host, settings.api.port
    print(f"docqa serving http://{host}:{port}/ (API under /v1, OpenAPI page /docs{', UI at /' if ui else ''}; "
          f"ready after {warm:.1f} s{'; API key on' if keyed else ''}; Ctrl+C to stop)", flush=True)
    uvicorn.run(create_app(assistant, settings, ui=ui), host=host, port=port, log_level="info")
