"""An answer as chat messages: collapsed tool steps, the answer (headline first), its chart, and a
collapsible "How this was computed"; suggested follow-ups as buttons under the last message."""

import json

import gradio as gr

from assistant.answer import Answer

from . import plots
from .markdown import computation


def step(call: dict, done: bool = True) -> gr.ChatMessage:
    args = json.dumps(call.get("args", {}), indent=2, default=str)
    return gr.ChatMessage(content=f"```json\n{args}\n```",
                          metadata={"title": f"Tool call: {call.get('name')}", "status": "done" if done else "pending"})


def answer_messages(answer: Answer) -> list[gr.ChatMessage]:
    messages = [step(c.model_dump()) for c in answer.tool_calls]
    messages.append(gr.ChatMessage(content=answer.answer))
    for c in answer.computations:
        if c.get("chart"):
            messages.append(gr.ChatMessage(content=gr.Plot(plots.figure(c["chart"]), show_label=False)))
        body = computation(c)
        if body:
            messages.append(gr.ChatMessage(content=body, metadata={"title": "How this was computed", "status": "done"}))
    options = answer.follow_ups
    if options:
        messages[-1].options = [{"value": o, "label": o} for o in options]
    return messages


def error_message(text: str) -> list[gr.ChatMessage]:
    return [gr.ChatMessage(content=f"⚠ {text}")]
