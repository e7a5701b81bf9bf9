"""The offline backend: a deterministic LangChain chat model driven by the planner.

It behaves like a tool-calling LLM inside the same agent loop: given the conversation, it
either emits the tool calls the planner chose for the latest question, or, once their results
are in, writes the answer from the tools' artifacts. It reads the conversation so far to
resolve follow-ups, from the tool calls of earlier turns.
"""

import json
from collections.abc import Iterator
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict

from .planner import Planner
from .reading import Frame

DATA_TOOLS = ("query_metrics", "mrr_bridge", "list_customers", "describe_metric")


def last_question_index(messages: list[BaseMessage]) -> int:
    return max(i for i, m in enumerate(messages) if isinstance(m, HumanMessage))


def previous_frame(messages: list[BaseMessage]) -> Frame | None:
    """The latest data request made before the current question, or the clarifying question
    just asked (with the question it was about)."""
    earlier = messages[: last_question_index(messages)]
    for i in range(len(earlier) - 1, -1, -1):
        message = earlier[i]
        if isinstance(message, AIMessage):
            for call in message.tool_calls:
                if call["name"] == "ask_clarification" and i > last_question_index(earlier):
                    asked = earlier[last_question_index(earlier)].content
                    return Frame("ask_clarification", {**call["args"], "asked": str(asked)})
                if call["name"] in DATA_TOOLS:
                    return Frame(call["name"], call["args"])
    return None


class OfflinePlannerModel(BaseChatModel):
    planner: Planner
    model_config = ConfigDict(arbitrary_types_allowed=True)

    @property
    def _llm_type(self) -> str:
        return "revenue-analyst-offline-planner"

    def bind_tools(self, tools, **kwargs):
        # The planner knows the tools by name; binding changes nothing.
        return self

    def _respond(self, messages: list[BaseMessage]) -> AIMessage:
        start = last_question_index(messages)
        question = messages[start].content if isinstance(messages[start].content, str) else str(messages[start].content)
        plan = self.planner.plan(question, previous_frame(messages))
        if plan.reply is not None:
            return AIMessage(content=plan.reply)
        turn = messages[start + 1:]
        results = {m.tool_call_id: m for m in turn if isinstance(m, ToolMessage)}
        asked = [call for m in turn if isinstance(m, AIMessage) for call in m.tool_calls]
        if not asked:
            return AIMessage(content="", tool_calls=[
                {"name": c.name, "args": c.args, "id": f"call_{start}_{i}", "type": "tool_call"} for i, c in enumerate(plan.calls)
            ])
        answered = []
        for call in asked:
            message = results.get(call["id"])
            if message is None:
                answered.append((call["name"], None, "the tool did not run (step limit reached)"))
            elif message.status == "error" or message.artifact is None:
                answered.append((call["name"], None, str(message.content)))
            else:
                answered.append((call["name"], message.artifact, str(message.content)))
        return AIMessage(content=self.planner.compose(plan, answered))

    def _generate(self, messages: list[BaseMessage], stop=None, run_manager: CallbackManagerForLLMRun | None = None,
                  **kwargs: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._respond(messages))])

    def _stream(self, messages: list[BaseMessage], stop=None, run_manager: CallbackManagerForLLMRun | None = None,
                **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        message = self._respond(messages)
        if message.tool_calls:
            chunks = [{"name": c["name"], "args": json.dumps(c["args"]), "id": c["id"], "index": i}
                      for i, c in enumerate(message.tool_calls)]
            yield ChatGenerationChunk(message=AIMessageChunk(content="", tool_call_chunks=chunks))
            return
        words = message.content.split(" ")
        for i, word in enumerate(words):
            piece = word if i == len(words) - 1 else word + " "
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
            if run_manager:
                run_manager.on_llm_new_token(piece, chunk=chunk)
            yield chunk
