"""An answer as chat messages: collapsed tool steps, the answer (headline first), its chart, and a
collapsible "How this was computed"; suggested follow-ups as buttons under the last message."""

import json

import gradio as gr

from assistant.answer import Answer

from . import plots
from .chart_labels import display_chart
from .markdown import computation

# Made once at import: inside an event a component's constructor only records an update.
_PLOT = gr.Plot(show_label=False, render=False)
_PLOT_PROPS = {k: v for k, v in _PLOT.get_config().items() if k != "value"}


def step(call: dict, done: bool = True) -> gr.ChatMessage:
    args = json.dumps(call.get("args", {}), indent=2, default=str)
    return gr.ChatMessage(content=f"```json\n{args}\n```",
                          metadata={"title": f"Tool call: {call.get('name')}", "status": "done" if done else "pending"})


def answer_messages(answer: Answer) -> list[gr.ChatMessage]:
    messages = [step(c.model_dump()) for c in answer.tool_calls]
    messages.append(gr.ChatMessage(content=answer.answer))
    for c in answer.computations:
        if c.get("chart"):
            messages.append(chart_message(display_chart(c)))
        body = computation(c)
        if body:
            messages.append(gr.ChatMessage(content=body, metadata={"title": "How this was computed", "status": "done"}))
    options = answer.follow_ups
    if options:
        messages[-1].options = [{"value": o, "label": o} for o in options]
    return messages


def chart_message(chart: dict) -> gr.ChatMessage:
    """A chart in the Chatbot's own serialized form of a component. The /chat API returns the
    messages unprocessed, so a gr.Plot there reached scripts as its Python repr; this form is
    plain data for them (the Plotly figure as JSON) and the same drawing in the browser."""
    return gr.ChatMessage(content={
        "type": "component", "component": "plot", "value": _PLOT.postprocess(plots.figure(chart)).model_dump(),
        "constructor_args": {"show_label": False}, "props": _PLOT_PROPS,
    })


def error_message(text: str) -> list[gr.ChatMessage]:
    return [gr.ChatMessage(content=f"⚠ {text}")]
