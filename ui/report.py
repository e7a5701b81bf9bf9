"""Reports of answers: Markdown, HTML and PDF (numbers, dates, formula, charts, SQL in an
appendix), and the answers' tables as CSV and XLSX (numbers stored as numbers)."""

import base64
import csv
import re
from datetime import date, datetime
from pathlib import Path

import markdown as markdown_lib
import matplotlib
from fpdf import FPDF
from openpyxl import Workbook
from openpyxl.styles import Font

from assistant.answer import Answer

from . import charts
from .chart_labels import display_chart
from .markdown import cell, computation, escape, is_number, numeric_columns, period_text

FORMATS = ("md", "html", "pdf", "csv", "xlsx")
Item = tuple[str, Answer]
FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def write(items: list[Item], fmt: str, path: Path, title: str = "Revenue report", context: str = "") -> Path:
    """`context` says what the answers were computed on (data set, as-of date) under the title."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    path = Path(path)
    writer = {"md": _markdown_file, "html": _html_file, "pdf": _pdf_file, "csv": _csv_file, "xlsx": _xlsx_file}[fmt]
    writer(items, path, title, context)
    return path


# ---- Markdown and HTML -------------------------------------------------------------------
def _subtitle(context: str) -> str:
    return f"Generated {datetime.now():%Y-%m-%d %H:%M}" + (f" from {context}" if context else "") + "."


def to_markdown(items: list[Item], title: str, context: str = "", images: bool = True) -> str:
    lines = [f"# {escape(title)}", "", f"*{escape(_subtitle(context))}*", ""]
    appendix = []
    for n, (question, answer) in enumerate(items, start=1):
        lines += [f"## {n}. {escape(question)}", "", escape(answer.answer), ""]
        for c in answer.computations:
            body = computation(c, with_sql=False, with_formula=not _formula_in_text(answer, c))
            if body:
                lines += [body, ""]
            if images and c.get("chart"):
                data = base64.b64encode(charts.png(display_chart(c))).decode()
                lines += [f"![{c['chart']['title']}](data:image/png;base64,{data})", ""]
            appendix += [(n, sql) for sql in c.get("sql", [])]
    if appendix:
        lines += ["## Appendix: SQL", ""]
        for n, sql in appendix:
            lines += [f"**Question {n}**", "", "```sql", sql, "```", ""]
    return "\n".join(lines)


def _markdown_file(items, path, title, context):
    path.write_text(to_markdown(items, title, context), encoding="utf-8")


STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #1f2937; }
table { border-collapse: collapse; margin: .5rem 0; font-size: .9rem; }
th, td { border: 1px solid #d1d5db; padding: .25rem .5rem; text-align: left; }
pre { background: #f3f4f6; padding: .75rem; overflow-x: auto; font-size: .8rem; }
img { max-width: 100%; }
"""


def _html_file(items, path, title, context):
    body = markdown_lib.markdown(to_markdown(items, title, context), extensions=["tables", "fenced_code"])
    path.write_text(f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
                    f"<style>{STYLE}</style></head><body>{body}</body></html>", encoding="utf-8")


# ---- PDF -----------------------------------------------------------------------------------
class _Pdf(FPDF):
    def __init__(self):
        super().__init__(format="A4")
        # DejaVu (shipped with matplotlib) covers the characters answers use (≤, →, €, £).
        self.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans.ttf"))
        self.add_font("DejaVu", "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
        self.add_font("DejaVu", "I", str(FONT_DIR / "DejaVuSans-Oblique.ttf"))
        self.add_font("Mono", "", str(FONT_DIR / "DejaVuSansMono.ttf"))
        self.set_auto_page_break(True, margin=15)

    def footer(self):
        self.set_y(-12)
        self.set_font("DejaVu", "", 8)
        self.cell(0, 8, f"revenue-analyst — page {self.page_no()}", align="C")

    def text_block(self, text: str, size: int = 10, style: str = "", markdown: bool = True):
        self.set_font("DejaVu", style, size)
        # Left-aligned: fpdf2 justifies by default, which spread short answer lines across the page.
        self.multi_cell(0, size * 0.5, text, markdown=markdown, align="L", new_x="LMARGIN", new_y="NEXT")
        self.ln(1)

    def rows(self, rows: list[dict], limit: int = 25):
        if not rows:
            return
        columns = list(dict.fromkeys(k for row in rows for k in row if k not in ("measure", "sources")))[:7]
        align = tuple("RIGHT" if number else "LEFT" for number in numeric_columns(rows[:limit], columns))
        self.set_font("DejaVu", "", 7)
        with self.table(text_align=align, line_height=4, first_row_as_headings=True) as table:
            table.row([str(c) for c in columns])
            for row in rows[:limit]:
                table.row([_plain(row.get(c)) for c in columns])
        self.ln(2)


def _plain(value) -> str:
    return cell(value) if value is None or is_number(value) else str(value)[:60]


def _pdf_file(items, path, title, context):
    pdf = _Pdf()
    pdf.add_page()
    pdf.text_block(title, 18, "B", markdown=False)
    pdf.text_block(_subtitle(context), 9, "I", markdown=False)
    appendix = []
    for n, (question, answer) in enumerate(items, start=1):
        pdf.ln(2)
        pdf.text_block(f"{n}. {question}", 13, "B", markdown=False)
        pdf.text_block(_pdf_markdown(answer.answer), 10)
        for c in answer.computations:
            if c.get("period"):
                pdf.text_block(f"**Period:** {period_text(c['period'])}", 9)
            if c.get("formula") and not _formula_in_text(answer, c):
                pdf.text_block(f"**Formula:** {c['formula']}", 9)
            if c.get("inputs"):
                pdf.rows(c["inputs"])
            if c.get("table") and (len(c["table"]) > 1 or c["tool"] == "list_customers"):
                pdf.rows(c["table"])
            if c.get("chart"):
                pdf.image(charts.png(display_chart(c)), w=170)
                pdf.ln(2)
            appendix += [(n, sql) for sql in c.get("sql", [])]
    if appendix:
        pdf.add_page()
        pdf.text_block("Appendix: SQL", 14, "B", markdown=False)
        for n, sql in appendix:
            pdf.text_block(f"Question {n}", 9, "B", markdown=False)
            pdf.set_font("Mono", "", 6.5)
            pdf.multi_cell(0, 3, sql, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
    pdf.output(str(path))


def _formula_in_text(answer: Answer, c: dict) -> bool:
    """The answer's text may state the formula already: a report then gives it once."""
    return bool(c.get("formula")) and c["formula"] in answer.answer


def _pdf_markdown(text: str) -> str:
    """fpdf2 renders **bold**; list bullets and stray markdown are made plain."""
    return re.sub(r"^- ", "• ", text, flags=re.M).replace("⚠", "!")


# ---- tables ---------------------------------------------------------------------------------
def _tables(items: list[Item]) -> list[tuple[int, str, list[dict]]]:
    """Each answer's rows, every one with its period (rows of a customer list carry none)."""
    out = []
    for n, (question, answer) in enumerate(items, start=1):
        for c in answer.computations:
            rows = c.get("table") or c.get("inputs") or []
            period = {"period_start": c["period"]["start"], "period_end": c["period"]["end"]} if c.get("period") else {}
            if rows:
                out.append((n, question, [{**period, **row} for row in rows]))
    return out


def _csv_file(items, path, title, context):
    blocks = _tables(items)
    columns = ["question_number", "question"] + list(dict.fromkeys(k for _, _, rows in blocks for row in rows for k in row))
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for n, question, rows in blocks:
            for row in rows:
                writer.writerow({k: _safe(v) for k, v in {"question_number": n, "question": question, **row}.items()})


def _xlsx_file(items, path, title, context):
    book = Workbook()
    summary = book.active
    summary.title = "Answers"
    summary.append([title, _subtitle(context)])
    summary.append(["#", "question", "value", "unit", "period start", "period end", "formula", "answer"])
    for heading in summary[2]:
        heading.font = Font(bold=True)
    for n, (question, answer) in enumerate(items, start=1):
        period = answer.period or {}
        summary.append([n, _safe(question), answer.value, answer.unit, _date(period.get("start")), _date(period.get("end")),
                        answer.formula, _safe(answer.answer.replace("**", ""))])
        summary.cell(summary.max_row, 3).number_format = "#,##0.00"
    for n, question, rows in _tables(items):
        sheet = book.create_sheet(f"{n} {_sheet_name(question)}"[:31])
        columns = list(dict.fromkeys(k for row in rows for k in row))
        sheet.append(columns)
        for heading in sheet[1]:
            heading.font = Font(bold=True)
        for row in rows:
            sheet.append([_cell(row.get(c)) for c in columns])
            for written in sheet[sheet.max_row]:
                if isinstance(written.value, float):
                    written.number_format = "#,##0.00"
    book.save(path)


def _sheet_name(question: str) -> str:
    return re.sub(r"[\[\]:*?/\\]", " ", question)


def _date(value):
    return date.fromisoformat(value) if isinstance(value, str) else value


def _cell(value):
    """Numbers stay numbers and ISO dates become dates, so the sheet can compute with them."""
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return date.fromisoformat(value)
    return _safe(value)


def _safe(value):
    """Text that a spreadsheet would run as a formula (a name starting with '=') stays text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value
