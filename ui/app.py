"""The Gradio chat app: questions in plain English, answers with their computations, charts,
data upload, settings and exports. Each browser session keeps its own conversation."""

import logging
import os
import time
import tempfile
from datetime import date
from pathlib import Path

import gradio as gr
from pydantic import ValidationError

from assistant import llm
from assistant.agent import Backend
from assistant.answer import Answer
from semantic_layer.errors import ImportRejected, QueryError
from semantic_layer.settings import rejected

from . import report
from .markdown import escape
from .messages import answer_messages, error_message, step
from .workspace import Workspace

log = logging.getLogger(__name__)
STREAM_INTERVAL = 0.08  # seconds between streamed updates of an answer
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
MAX_UPLOAD = "500mb"
EXAMPLES = [
    "What is our MRR?",
    "How did we do last month?",
    "What was expansion MRR last quarter, by segment?",
    "Which customers churned last month?",
    "NRR over the trailing 12 months",
    "What is net revenue retention?",
]


# Below Gradio's 768 px breakpoint the open side panel covers the whole chat: start it closed
# there (its own toggle, so it still opens with one tap).
CLOSE_PANEL_ON_PHONES = """() => {
    if (window.innerWidth <= 768) document.querySelector(".sidebar.open .toggle-button")?.click();
}"""


# Gradio's chat styles left-align every table cell and break words anywhere ("3,450.4|0"):
# numbers (the Markdown tables mark them right-aligned) stay whole on the right.
CSS = """
.chatbot.prose td[align="right"], .chatbot.prose th[align="right"] { text-align: right; white-space: nowrap; }
.chatbot.prose td, .chatbot.prose th { word-break: normal; overflow-wrap: normal; }
"""


def new_session() -> dict:
    return {"thread": None, "key": None, "items": []}


def _backend(kind: str, base_url: str, model: str, api_key: str) -> Backend:
    return Backend(kind, base_url.strip() or None, model.strip() or None, api_key.strip() or None)


def _as_of(text: str) -> date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise QueryError(f"the as-of date {text!r} is not a date (YYYY-MM-DD)")


def build(workspace: Workspace, as_of: date | None = None) -> gr.Blocks:
    default_backend = "openai" if llm.configured() else "offline"

    def respond(message, history, session, as_of_text, kind, base_url, model, api_key):
        session = {**(session or new_session()), "items": list((session or {}).get("items", []))}
        try:
            backend = _backend(kind, base_url, model, api_key)
            with workspace.analyst(_as_of(as_of_text), backend) as (analyst, generation):
                key = [generation.number, as_of_text, kind, base_url, model]
                if session["key"] != key:  # new data or settings: a fresh conversation
                    session["thread"], session["key"] = analyst.new_thread(), key
                shown: list[gr.ChatMessage] = []
                text = ""
                answer = None
                last = 0.0
                for event in analyst.stream(message, session["thread"]):
                    if isinstance(event, Answer):
                        answer = event
                    elif event[0] == "tool_call":
                        shown.append(step(event[1], done=True))
                        yield shown, session
                    elif event[0] == "token":
                        text += event[1]
                        # Each update resends the messages: a few per second read as streaming.
                        if time.monotonic() - last > STREAM_INTERVAL:
                            last = time.monotonic()
                            yield shown + [gr.ChatMessage(content=text)], session
            session["items"].append((message, answer.model_dump(mode="json"), generation.dataset.label(analyst.as_of)))
            yield answer_messages(answer), session
        except (QueryError, ValueError) as exc:
            yield error_message(str(exc)), session
        except Exception as exc:  # the app keeps working; the details go to the log
            log.exception("question failed")
            yield error_message(f"Something went wrong while answering ({type(exc).__name__}). "
                                "The app is still running; try rephrasing the question."), session

    def data_details():
        """The side panel's view of the current data set; every page load asks again, as another
        session may have imported new data or changed the currency since the app started."""
        dataset = workspace.dataset
        return dataset.panel(), gr.update(choices=dataset.currency_choices, value=dataset.reporting_currency)

    def do_import(files, progress=gr.Progress()):
        if not files:
            return gr.update(), "Choose the files to import first."
        progress(0.05, desc="Reading files")
        try:
            result = workspace.import_files([Path(f) for f in files], progress)
        except ImportRejected as exc:
            problems = "\n".join(f"- {escape(str(p))}" for p in exc.problems[:30])
            more = f"\n- … and {len(exc.problems) - 30} more" if len(exc.problems) > 30 else ""
            noun = "problem" if len(exc.problems) == 1 else "problems"
            return gr.update(), f"**Import rejected** ({len(exc.problems)} {noun}); nothing was changed.\n\n{problems}{more}"
        except (QueryError, ValueError) as exc:
            return gr.update(), f"**Import failed** — nothing was changed: {exc}"
        notes = "".join(f"\n\nNote: {n}" for n in result.notes)
        return workspace.dataset.panel(), (f"Imported {result.customers:,} customers and {result.subscription_rows:,} rows. "
                                      f"New questions use the new data.{notes}")

    def do_currency(currency):
        try:
            workspace.change_settings(reporting_currency=currency)
        except ValidationError as exc:
            return gr.update(), f"Not changed: {rejected(exc)}"
        except (QueryError, ValueError) as exc:
            return gr.update(), f"Not changed: {exc}"
        return workspace.dataset.panel(), f"Amounts are now reported in {currency}."

    def do_export(session, scope, fmt):
        items = (session or {}).get("items", [])
        if not items:
            raise gr.Error("Ask a question first; then export its answer or the conversation.")
        if scope == "This answer":
            items = items[-1:]
        folder = Path(tempfile.mkdtemp(prefix="analyst-report-"))
        # An upload or a currency change within the conversation: the report names each data set.
        context = "; ".join(dict.fromkeys(context for _, _, context in items))
        answers = [(q, Answer.model_validate(a)) for q, a, _ in items]
        return str(report.write(answers, fmt, folder / f"revenue-report.{fmt}", context=context))

    with gr.Blocks(title="revenue-analyst", fill_height=True, analytics_enabled=False) as demo:
        session = gr.State(new_session())
        with gr.Sidebar(position="right", open=True, width=360):
            gr.Markdown("### Data")
            data = gr.Markdown()
            files = gr.File(label="Upload customers / subscriptions / fx_rates (CSV, Parquet) or Stripe exports",
                            file_count="multiple", file_types=[".csv", ".parquet", ".json", ".jsonl"])
            import_button = gr.Button("Import", variant="secondary")
            import_status = gr.Markdown()
            gr.Markdown("### Settings")
            as_of_box = gr.Textbox(label="As-of date (empty = the data's last day)", lines=1, max_lines=1,
                                   value=as_of.isoformat() if as_of else "", placeholder="YYYY-MM-DD")
            kind = gr.Radio(["offline", "openai"], value=default_backend, label="Model backend")
            base_url = gr.Textbox(label="OpenAI-compatible base URL", value=os.environ.get("OPENAI_BASE_URL", ""), max_lines=1,
                                  placeholder="https://api.openai.com/v1 or http://localhost:11434/v1")
            model = gr.Textbox(label="Model name", value=os.environ.get("ANALYST_MODEL", ""), placeholder=llm.DEFAULT_MODEL,
                               max_lines=1)
            api_key = gr.Textbox(label="API key (needed for another base URL)", type="password", value="", max_lines=1)
            # Any code may be typed (the data's currencies are offered): another session's upload
            # may have brought currencies this page's list does not show yet.
            currency = gr.Dropdown(workspace.dataset.currency_choices, value=workspace.dataset.reporting_currency,
                                   label="Reporting currency (for everyone using this app)", allow_custom_value=True)
            currency_button = gr.Button("Apply currency", size="sm")
            settings_status = gr.Markdown()
            gr.Markdown("### Export")
            scope = gr.Radio(["This answer", "Whole conversation"], value="This answer", label="What to export")
            fmt = gr.Radio(list(report.FORMATS), value="pdf", label="Format")
            export_button = gr.Button("Export")
            exported = gr.File(label="Report", interactive=False)
        gr.ChatInterface(
            respond,
            chatbot=gr.Chatbot(height="75vh", buttons=["copy"], autoscroll=True,
                               placeholder="Ask about MRR, churn, retention, expansion…"),
            textbox=gr.Textbox(placeholder="Ask about MRR, churn, retention, expansion…", submit_btn=True, show_label=False),
            analytics_enabled=False,
            additional_inputs=[session, as_of_box, kind, base_url, model, api_key],
            additional_outputs=[session],
            examples=[[e] for e in EXAMPLES],
            title="revenue-analyst",
            description="Answers with the number, the dates, the formula, the SQL and the rows behind it.",
            api_name="chat",
        )
        demo.load(data_details, None, [data, currency], api_visibility="private")
        demo.load(None, js=CLOSE_PANEL_ON_PHONES)
        import_button.click(do_import, [files], [data, import_status], api_name="import_data").then(
            data_details, None, [data, currency], api_visibility="private")  # new data, new currencies
        currency_button.click(do_currency, [currency], [data, settings_status], api_name="reporting_currency")
        export_button.click(do_export, [session, scope, fmt], [exported], api_name="export")
    return demo


def warm_up() -> None:
    """Plotly loads its figure classes lazily (seconds on first use): load them before users ask."""
    from .messages import chart_message

    chart_message({"kind": "bar", "title": "", "x": "x", "series": ["y"], "rows": [{"x": "a", "y": 1}]})


def parse_auth(text: str | None) -> tuple[str, str] | None:
    if not text:
        return None
    user, sep, password = text.partition(":")
    if not sep or not user or not password:
        raise ValueError("authentication must be given as user:password")
    return user, password


def serve(db: Path, host: str = "127.0.0.1", port: int = 7860, auth: str | None = None, as_of: date | None = None,
          block: bool = True):
    credentials = parse_auth(auth or os.environ.get("ANALYST_AUTH"))
    if host not in LOCAL_HOSTS and credentials is None:
        # Anyone who can reach the app can replace the data set and use the server's model key.
        raise ValueError(f"serving on {host} (not this machine only) needs a login: add --auth user:password "
                         "or set ANALYST_AUTH")
    warm_up()
    demo = build(Workspace(db), as_of)
    demo.queue(default_concurrency_limit=8)
    demo.launch(server_name=host, server_port=port, auth=credentials, prevent_thread_lock=not block,
                show_error=False, quiet=not block, max_file_size=MAX_UPLOAD, css=CSS)
    return demo
