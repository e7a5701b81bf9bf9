"""One agent loop (LangChain create_agent) over the metric tools, with either backend."""

import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import openai
from langchain.agents import create_agent
from langchain.agents.middleware import ModelCallLimitMiddleware, ToolCallLimitMiddleware, ToolErrorMiddleware
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver

from semantic_layer.engine import Engine
from semantic_layer.errors import QueryError
from tools.registry import build_tools

from . import llm
from .answer import Answer, from_turn
from .followups import suggest
from .grounding import ungrounded
from .offline_model import OfflinePlannerModel
from .planner import Planner
from .reading import Context
from .vocabulary import Vocabulary

log = logging.getLogger(__name__)
MAX_MODEL_CALLS = 6
MAX_TOOL_CALLS = 8
MAX_THREADS = 500  # conversations kept in memory per assistant; the oldest are forgotten


def _tool_error(exc: Exception, request) -> str:
    """Tool failures go back to the model (and the user) in plain words, never a traceback."""
    name = request.tool_call["name"]
    if isinstance(exc, (QueryError, ValueError)):
        return f"{name} failed: {exc}"
    log.exception("tool %s failed", name)
    return f"{name} failed with an internal error ({type(exc).__name__}); the question could not be computed."


@dataclass
class Backend:
    kind: str  # offline | openai
    base_url: str | None = None
    model: str | None = None
    api_key: str | None = None


class Analyst:
    """Answers questions about one database; keeps each conversation (thread) apart."""

    def __init__(self, engine: Engine, as_of: date | None = None, backend: Backend | None = None):
        self.engine = engine
        # An empty data set has no last day: questions then resolve against today.
        self.as_of = as_of or engine.last_date or date.today()
        self.backend = backend or Backend("openai" if llm.configured() else "offline")
        dims = list(engine.dimensions.customer) + list(engine.dimensions.item)
        values = {d: engine.dimension_values(d, limit=300) for d in dims if d not in ("customer_id", "name")}
        if "name" in dims:  # every customer can be named; one-word names are too easily ordinary words
            values["name"] = [v for v in engine.dimension_values("name", limit=1_000_000) if len(v.split()) >= 2]
        self.vocabulary = Vocabulary.build(engine.catalog, values)
        self.context = Context(engine.catalog, self.vocabulary, self.as_of, engine.settings.fiscal_year_start_month,
                               engine.first_date)
        self.planner = Planner(self.context)
        self.tools = build_tools(engine)
        self.checkpointer = InMemorySaver()
        self.threads: OrderedDict[str, None] = OrderedDict()
        self._threads_lock = threading.Lock()
        self.agent = self._build_agent()

    def _build_agent(self):
        if self.backend.kind == "offline":
            model = OfflinePlannerModel(planner=self.planner)
            prompt = None
        else:
            model = llm.chat_model(self.backend.base_url, self.backend.model, self.backend.api_key)
            shown = {d: v for d, v in self.vocabulary_values().items() if d not in ("name", "customer_id")}
            prompt = llm.system_prompt(
                self.as_of.isoformat(), str(self.engine.first_date), str(self.engine.last_date), shown,
                list(self.engine.catalog.metrics), self.engine.settings.reporting_currency)
        return create_agent(
            model, self.tools, system_prompt=prompt, checkpointer=self.checkpointer,
            middleware=[
                ModelCallLimitMiddleware(run_limit=MAX_MODEL_CALLS, exit_behavior="end"),
                ToolCallLimitMiddleware(run_limit=MAX_TOOL_CALLS, exit_behavior="end"),
                ToolErrorMiddleware(_tool_error),
            ],
        )

    def vocabulary_values(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for key in self.vocabulary.value_phrases:
            dim, value = key.split("=", 1)
            out.setdefault(dim, []).append(value)
        return out

    @staticmethod
    def new_thread() -> str:
        return uuid.uuid4().hex

    def ask(self, question: str, thread_id: str | None = None) -> Answer:
        answer = None
        for event in self.stream(question, thread_id):
            if isinstance(event, Answer):
                answer = event
        return answer

    def stream(self, question: str, thread_id: str | None = None) -> Iterator[object]:
        """Yields ("tool_call", call) / ("token", text) events as they happen, then the Answer."""
        thread_id = thread_id or self.new_thread()
        self._remember(thread_id)
        config = {"configurable": {"thread_id": thread_id}, "recursion_limit": 100}  # the middleware limits steps first
        before = len(self._messages(config))
        try:
            for message, _meta in self.agent.stream({"messages": [HumanMessage(question)]}, config, stream_mode="messages"):
                if isinstance(message, AIMessage) and message.content and isinstance(message.content, str):
                    yield ("token", message.content)
                for call in getattr(message, "tool_calls", None) or []:
                    if call.get("name"):
                        yield ("tool_call", call)
        except (openai.APIConnectionError, openai.APITimeoutError) as exc:
            yield self._failed(f"The language model at {self.backend.base_url or 'the OpenAI API'} could not be reached "
                               f"({type(exc).__name__}). Check OPENAI_BASE_URL, or use the offline backend.")
            return
        except openai.APIStatusError as exc:
            yield self._failed(f"The language model returned an error (HTTP {exc.status_code}): {_short(exc)}. "
                               "Nothing was computed from it.")
            return
        except openai.OpenAIError as exc:
            yield self._failed(f"The language model failed: {_short(exc)}.")
            return
        turn = self._messages(config)[before + 1:]
        answer = from_turn(turn)
        if not answer.answer or answer.answer.startswith(("Model call limits exceeded", "Tool call limits exceeded")):
            answer.answer = (f"I stopped after the step limit ({MAX_MODEL_CALLS} model calls, {MAX_TOOL_CALLS} tool calls) "
                             "without a final answer; the computations below are what the tools returned.")
        if self.backend.kind != "offline":
            answer.ungrounded = ungrounded(answer.answer, [answer.computations, [c.args for c in answer.tool_calls], question])
            if answer.ungrounded:
                answer.answer += ("\n\n⚠ Not found in any tool result, so not verified: " + ", ".join(answer.ungrounded)
                                  + ". Trust the figures in the computation below.")
        answer.follow_ups = suggest(answer)
        yield answer

    def _remember(self, thread_id: str) -> None:
        with self._threads_lock:  # sessions ask from several threads at once
            self.threads[thread_id] = None
            self.threads.move_to_end(thread_id)
            while len(self.threads) > MAX_THREADS:
                self.checkpointer.delete_thread(self.threads.popitem(last=False)[0])

    def _messages(self, config) -> list:
        state = self.agent.get_state(config)
        return list(state.values.get("messages", [])) if state and state.values else []

    @staticmethod
    def _failed(text: str) -> Answer:
        return Answer(answer=text)


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0][:300]
