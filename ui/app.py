"""The chat UI in the browser. The only module that imports gradio.

It talks to the documents only through `rag.Assistant`; every string it shows
is built by `ui.render` (pure, escaped). Errors become one short message in
the page, never a traceback.
"""
from __future__ import annotations

import base64
import logging
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402

from core import errors  # noqa: E402
from core.errors import RagError  # noqa: E402
from core.records import Answer, Delta  # noqa: E402
from core.settings import LOOPBACK, Settings  # noqa: E402
from rag.startup import credentials, ready  # noqa: E402  (shared with `rag serve`)
from ui import forms, render, uploads  # noqa: E402

log = logging.getLogger("ui")
MAX_PASSAGES = 20
PAGE_WIDTH = 700   # pixels of a cited page's image

STATIC = Path(__file__).parent / "static"   # the page's look (app.css) and its click handling (app.js)


@dataclass(frozen=True)
class Conversation:
    """One browser session's conversation: what the chat shows and what the assistant is given."""

    messages: list[dict] = field(default_factory=list)   # rendered, for the Chatbot
    history: list[dict] = field(default_factory=list)    # plain text turns, for Assistant.stream
    sections: list[render.TurnSources] = field(default_factory=list)   # each turn's question and sources
    turn: int = 0


def user_message(error: BaseException) -> str:
    """The short text a person sees for an error; anything unexpected is logged with its traceback."""
    if not isinstance(error, RagError):
        log.error("unexpected error in the UI", exc_info=error)
        return errors.unexpected(error)
    return errors.user_message(error)


class Handlers:
    """The event handlers; each reaches the documents only through the Assistant."""

    def __init__(self, assistant, settings: Settings):
        self.assistant, self.settings = assistant, settings
        self.uploads = uploads.uploads_dir(settings.store.index_dir)
        self.supported = assistant.supported_types()

    # --- chat
    def ask(self, question: str, conversation: Conversation, mode: str, top_k, sources, since, until):
        """Stream the answer into the chat, then show its sources. Yields (question box, chat, sources, state)."""
        if not (question or "").strip():
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        turn = conversation.turn + 1
        shown = conversation.messages + [_said("user", render.user_markdown(question))]
        yield "", shown + [_said("assistant", "…")], gr.skip(), gr.skip()
        text, answer = "", None
        try:
            first, last = forms.date_range(since, until)
            for event in self.assistant.stream(question, history=conversation.history, sources=sources or None,
                                               since=first, until=last, mode=mode or None,
                                               top_k=forms.passages(top_k, self.settings.retrieval.top_k)):
                if isinstance(event, Delta):
                    text = event.text if event.restart else text + event.text
                    streamed = render.streaming_markdown(text, turn, event.provisional)
                    yield gr.skip(), shown + [_said("assistant", streamed)], gr.skip(), gr.skip()
                elif isinstance(event, Answer):
                    answer = event
            if answer is None:
                raise RuntimeError("the assistant returned no answer")
            section = render.sources_section(answer, self._texts(answer), turn, self._images(answer))
        except Exception as error:  # noqa: BLE001 - every failure becomes one line in the chat
            failed = shown + [_said("assistant", render.error_markdown(user_message(error)))]
            yield gr.skip(), failed, gr.skip(), replace(conversation, messages=failed)
            return
        done = shown + [_said("assistant", render.answer_markdown(answer, turn))]
        history = conversation.history + [{"role": "user", "content": question},
                                          {"role": "assistant", "content": answer.text}]
        turns = conversation.sections + [render.TurnSources(question, section)]
        kept = turns[-(render.EARLIER_TURNS_KEPT + 1):]   # all the panel shows
        state = Conversation(done, history, kept, turn)
        yield gr.skip(), done, render.sources_panel(state.sections), state

    def _texts(self, answer) -> dict[str, str]:
        """The cleaned text of each cited document ("" when it cannot be read: the quote is shown alone)."""
        texts = {}
        for source in render.cited_sources(answer):
            try:
                texts[source] = self.assistant.document_text(source)
            except Exception as error:  # noqa: BLE001
                user_message(error)
                texts[source] = ""
        return texts

    def _images(self, answer) -> dict[tuple[str, int], str]:
        """Each cited PDF page as a data: URI (left out when the file cannot be rendered: the text card stays)."""
        images = {}
        for source, page in render.cited_pages(answer):
            try:
                png = self.assistant.page_image(source, page, PAGE_WIDTH)
                images[(source, page)] = "data:image/png;base64," + base64.b64encode(png).decode()
            except Exception as error:  # noqa: BLE001
                user_message(error)
        return images

    # --- documents
    def refresh(self, selected=None):
        """(documents table, remove dropdown, source-filter dropdown, the Chat tab's index summary) from the index."""
        try:
            documents = self.assistant.documents()
        except Exception as error:  # noqa: BLE001
            return render.status_html(user_message(error), "error"), gr.skip(), gr.skip(), gr.skip()
        choices = render.document_choices(documents)
        present = {source for _, source in choices}
        kept = [s for s in (selected or []) if s in present]
        return (render.documents_table(documents), gr.Dropdown(choices=choices, value=None),
                gr.Dropdown(choices=choices, value=kept, multiselect=True), render.index_summary(documents))

    def upload(self, files, selected, progress=gr.Progress()):
        """Copy the uploads into the index folder, index them with progress, report each file."""
        paths = [f if isinstance(f, str) else getattr(f, "name", str(f)) for f in (files or [])]
        try:
            accepted = uploads.store(paths, self.uploads, self.settings.ui.upload_mb, self.supported)
            progress(0.0, desc="indexing")
            report = uploads.indexed(accepted, lambda stored: self.assistant.ingest(
                stored, progress=lambda done, total, note: progress(done / total if total else 0.0, desc=note)))
            summary = render.ingest_summary(report, accepted.refused, accepted.stored)
        except Exception as error:  # noqa: BLE001
            summary = render.status_html(user_message(error), "error")
        return (summary, *self.refresh(selected), None)

    def confirm_removal(self, source):
        """The first click on Remove: ask before removing. Yields (status, the confirm button)."""
        if not source:
            return render.status_html("Choose a document to remove first.", "error"), gr.Button(visible=False)
        question = f"Remove {os.path.basename(source)}? Its passages will no longer be cited. Click “Yes, remove”."
        return render.status_html(question, "warning"), gr.Button(visible=True)

    def remove(self, source, selected):
        """Remove the chosen document (and its uploaded copy); its passages stop appearing at once.
        Returns (status, *refresh, the cleared upload log, the hidden confirm button)."""
        if not source:
            return (render.status_html("Choose a document to remove first.", "error"), *self.refresh(selected),
                    gr.skip(), gr.Button(visible=False))
        name = os.path.basename(source)
        try:
            if self.assistant.remove(source):
                uploads.forget(source, self.uploads)
                status = render.status_html(f"Removed {name}; its passages no longer appear in answers.")
            else:
                status = render.status_html(f"{name} is not indexed (any more).", "error")
        except Exception as error:  # noqa: BLE001
            status = render.status_html(user_message(error), "error")
        return (status, *self.refresh(selected), "", gr.Button(visible=False))


def _said(role: str, content: str) -> dict:
    return {"role": role, "content": content}


MODE_LABELS = {"offline": "offline (quotes the passages)", "llm": "LLM (written answer)",
               "local": "local model (written answer, no network)"}


def _mode_choice(assistant) -> gr.Radio:
    """The answer modes this assistant can use (from the registry of `rag.answer`), the configured one chosen."""
    usable = assistant.available_modes()
    choices = [(MODE_LABELS.get(m, m), m) for m in usable]
    if len(usable) > 1:
        return gr.Radio(choices, value=assistant.mode_for(None), label="Answer mode", elem_id="mode")
    return gr.Radio(choices, value=usable[0], label="Answer mode", interactive=False, elem_id="mode",
                    info="LLM answers need OPENAI_API_KEY or RAG_LLM_BASE_URL; `make model` installs a local model")


def _documents(assistant) -> list:
    try:
        return assistant.documents()
    except Exception as error:  # noqa: BLE001
        user_message(error)
        return []


def build_app(assistant, settings: Settings) -> gr.Blocks:
    """The whole UI: a Chat tab (chat, sources, settings) and a Documents tab (table, upload, remove)."""
    handlers = Handlers(assistant, settings)
    documents = _documents(assistant)
    # delete_cache: browser uploads are copied into the index folder; gradio's temporary copies go after an hour
    with gr.Blocks(title="docqa: ask your documents", analytics_enabled=False, delete_cache=(3600, 3600)) as demo:
        conversation = gr.State(Conversation())
        gr.Markdown("### Ask your documents\nEvery answer cites the passages it rests on; "
                    "click a [n] marker to see the passage in its document.")
        with gr.Tabs() as tabs:
            with gr.Tab("Chat", id="chat-tab"):
                with gr.Row():
                    index_summary = gr.HTML(render.index_summary(documents), elem_id="index-summary",
                                            js_on_load=None)
                    to_documents = gr.Button("Documents tab →", size="sm", elem_id="to-documents", scale=0,
                                             min_width=160)
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3):
                        chatbot = gr.Chatbot(value=[], elem_id="chat", label="Conversation", show_label=False,
                                             height=520,
                                             latex_delimiters=[], feedback_options=None, buttons=["copy"],
                                             sanitize_html=True, render_markdown=True,
                                             placeholder="Ask a question about the indexed documents.")
                        question = gr.Textbox(elem_id="question", show_label=False, submit_btn="Ask",
                                              placeholder="Ask a question and press Enter", max_length=2000,
                                              autofocus=True)
                        new_chat = gr.Button("New conversation", size="sm", elem_id="new-chat")
                        with gr.Accordion("Settings", open=False, elem_id="chat-settings"):
                            mode = _mode_choice(assistant)
                            top_k = gr.Slider(1, max(MAX_PASSAGES, settings.retrieval.top_k),
                                              value=settings.retrieval.top_k, step=1,
                                              label="Number of passages", elem_id="top-k")
                            # The document lists start empty; demo.load fills them for each session: gradio puts
                            # an input's choices in the API summary of the login page, naming the documents to all.
                            source_filter = gr.Dropdown([], value=[], multiselect=True, elem_id="source-filter",
                                                        label="Only these documents", info="empty: all documents")
                            with gr.Row():
                                since = gr.Textbox(label="Date from", placeholder="YYYY-MM-DD", elem_id="since")
                                until = gr.Textbox(label="Date to", placeholder="YYYY-MM-DD", elem_id="until")
                    with gr.Column(scale=2):
                        gr.Markdown("**Sources**")
                        sources = gr.HTML(render.sources_panel([]), elem_id="sources", js_on_load=None)
            with gr.Tab("Documents", id="documents-tab"):
                table = gr.HTML(render.documents_table(documents), elem_id="documents", js_on_load=None)
                upload = gr.File(file_count="multiple", elem_id="upload",
                                 label=f"Add documents ({', '.join(handlers.supported)}; "
                                       f"up to {settings.ui.upload_mb:g} MB each)")
                ingest_result = gr.HTML("", elem_id="ingest-result", js_on_load=None)
                with gr.Row():
                    remove_choice = gr.Dropdown([], value=None, label="Document to remove",
                                                elem_id="remove-choice", scale=4)
                    remove_button = gr.Button("Remove", variant="stop", elem_id="remove", scale=1)
                remove_status = gr.HTML("", elem_id="remove-status", js_on_load=None)
                confirm_button = gr.Button("Yes, remove", variant="stop", elem_id="remove-confirm", visible=False,
                                           size="sm")

        question.submit(handlers.ask, [question, conversation, mode, top_k, source_filter, since, until],
                        [question, chatbot, sources, conversation], show_progress="minimal", api_name="ask")
        new_chat.click(lambda: (Conversation(), [], render.sources_panel([])), None,
                       [conversation, chatbot, sources], queue=False)
        chatbot.clear(lambda: (Conversation(), render.sources_panel([])), None, [conversation, sources], queue=False)
        listing = [table, remove_choice, source_filter, index_summary]
        upload.upload(handlers.upload, [upload, source_filter], [ingest_result, *listing, upload],
                      concurrency_limit=1, concurrency_id="index-writes")
        remove_button.click(handlers.confirm_removal, [remove_choice], [remove_status, confirm_button], queue=False)
        confirm_button.click(handlers.remove, [remove_choice, source_filter],
                             [remove_status, *listing, ingest_result, confirm_button],
                             concurrency_limit=1, concurrency_id="index-writes")
        to_documents.click(lambda: gr.Tabs(selected="documents-tab"), None, tabs, queue=False)
        demo.load(handlers.refresh, [source_filter], listing, show_progress="hidden")
    return demo


def serve(settings: Settings, assistant=None) -> None:
    """Start the UI on settings.ui.host:ui_port and block until interrupted."""
    auth = credentials(settings)
    exposed = settings.ui.host not in LOOPBACK and not auth
    warning = (f"the UI on {settings.ui.host} is reachable from the network without a password; set RAG_UI_USER "
               "and RAG_UI_PASSWORD") if exposed else ""
    assistant, warm = ready(settings, assistant, warning)
    demo = queued(assistant, settings)
    _, url, _ = demo.launch(
        server_name=settings.ui.host, server_port=settings.ui.port, prevent_thread_lock=True, quiet=True,
        **page_options(settings))
    print(f"docqa UI running at {url} (ready after {warm:.1f} s{'; basic auth on' if auth else ''}; "
          "Ctrl+C to stop)", flush=True)
    demo.block_thread()


def queued(assistant, settings: Settings) -> gr.Blocks:
    """The UI with its queue: settings.ui.concurrency questions at once."""
    return build_app(assistant, settings).queue(default_concurrency_limit=max(1, settings.ui.concurrency))


def page_options(settings: Settings) -> dict:
    """What `rag ui` and `rag serve` serve the page with: its login, upload cap, look; no error details."""
    return dict(auth=credentials(settings), max_file_size=int(settings.ui.upload_mb * 1_000_000), show_error=False,
                ssr_mode=False, theme=_theme(), css_paths=[STATIC / "app.css"],
                js=(STATIC / "app.js").read_text(encoding="utf-8"))


def mount(app, assistant, settings: Settings, path: str = "/"):
    """The same UI inside another FastAPI app (`rag serve`), at `path`, with its own login."""
    return gr.mount_gradio_app(app, queued(assistant, settings), path=path, **page_options(settings))


def _theme():
    """The default theme with local fonts only (no request to a font server)."""
    system = ["ui-sans-serif", "system-ui", "sans-serif"]
    return gr.themes.Default(font=system, font_mono=["ui-monospace", "monospace"])
