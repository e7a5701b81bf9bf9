"""The `analyst` command line."""

import json
import sys
from datetime import date, timedelta
from pathlib import Path

import click
from pydantic import ValidationError

from semantic_layer.catalog import load_catalog
from semantic_layer.compiler import Filter, MetricQuery
from semantic_layer.engine import DIALECTS, Engine
from semantic_layer.errors import ImportRejected, QueryError
from semantic_layer.formatting import table_text
from semantic_layer.periods import GRAINS
from semantic_layer.settings import Settings, rejected
from semantic_layer.store import connect, default_db_path, import_paths, rebuild, settings_of, summary

db_option = click.option(
    "--db", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Database file (default: $ANALYST_DB, else ./analyst.duckdb).",
)


def _db(db: Path | None) -> Path:
    return db or default_db_path()


def _date(ctx, param, value):
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="revenue-analyst")
def main():
    """revenue-analyst: SaaS revenue metrics you can trust, with their formula and SQL."""


@main.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@db_option
@click.option("--churn-recognition", type=click.Choice(["end_date", "cancellation"]), default=None,
              help="When churn counts: at end_date (default) or at canceled_at.")
@click.option("--reactivation-window-days", type=int, default=None,
              help="A return after a longer gap counts as new (default: any gap is a reactivation).")
@click.option("--reporting-currency", default=None, help="Currency of all amounts (fx_rates are per unit of it).")
def import_cmd(paths, db, churn_recognition, reactivation_window_days, reporting_currency):
    """Import a data set, replacing the stored one.

    PATHS: a folder (or files) of canonical customers / subscriptions / fx_rates CSV or Parquet,
    Stripe API exports (JSON or JSON Lines of invoices, subscriptions, customers), or a Stripe
    Dashboard subscriptions CSV; add an fx_rates.csv for other currencies.
    """
    db = _db(db)
    changes = {k: v for k, v in {
        "churn_recognition": churn_recognition,
        "reactivation_window_days": reactivation_window_days,
        # Files read with --reporting-currency are quoted in it.
        "reporting_currency": reporting_currency.upper() if reporting_currency else None,
        "fx_quote_currency": reporting_currency.upper() if reporting_currency else None,
    }.items() if v is not None}
    try:
        settings = Settings.model_validate({**settings_of(db).model_dump(), **changes})
        result = import_paths(db, list(paths), settings)
    except (ImportRejected, QueryError) as exc:
        raise click.ClickException(str(exc))
    except ValidationError as exc:
        raise click.ClickException(f"invalid setting: {rejected(exc)}")
    click.echo(
        f"Imported {result.customers:,} customers and {result.subscription_rows:,} subscription rows "
        f"({result.first_date} .. {result.last_date}; currencies {', '.join(result.currencies)}) into {db}."
    )
    for note in result.notes:
        click.echo(f"Note: {note}")


@main.command("settings")
@click.argument("assignments", nargs=-1)
@db_option
def settings_cmd(assignments, db):
    """Show settings, or change them with KEY=VALUE (rebuilds the ledger)."""
    db = _db(db)
    try:
        current = settings_of(db)
    except QueryError as exc:
        raise click.ClickException(str(exc))
    if assignments:
        values = current.model_dump()
        for assignment in assignments:
            key, sep, value = assignment.partition("=")
            key = key.strip()
            if not sep or key not in Settings.USER_KEYS:
                raise click.ClickException(f"{assignment!r}: use KEY=VALUE with KEY one of {', '.join(Settings.USER_KEYS)}")
            value = value.strip()
            values[key] = None if value.lower() in ("", "none", "null") else value
        try:
            current = Settings.model_validate(values)
        except ValidationError as exc:
            raise click.ClickException(f"Not changed: {rejected(exc)}")
        try:
            rebuild(db, current)
        except QueryError as exc:
            raise click.ClickException(f"Not changed: {exc}")
    click.echo(_settings_text(current))


def _settings_text(settings: Settings) -> str:
    """Each setting with what it takes; the fx quote currency, fixed by the import, as a note."""
    lines = []
    for key in Settings.USER_KEYS:
        value = getattr(settings, key)
        lines += [f"{key} = {'none' if value is None else value}", f"    {Settings.model_fields[key].description}"]
    quote = settings.fx_quote_currency or settings.reporting_currency
    lines.append(f"(fx_rates are read as {quote} per unit of each currency, as imported; a new import can change that)")
    return "\n".join(lines)


@main.command("metrics")
@click.option("--json", "as_json", is_flag=True, help="Print the catalog as JSON.")
@db_option
def metrics_cmd(as_json, db):
    """List the metric catalog with formulas (the same for every database)."""
    catalog = load_catalog()
    if as_json:
        click.echo(json.dumps([m.model_dump(exclude_none=True) for m in catalog.metrics.values()], indent=2))
        return
    for metric in catalog.metrics.values():
        click.echo(f"{metric.name}  ({metric.label}, {metric.type}, {metric.unit})")
        click.echo(f"    {metric.description}")
        click.echo(f"    {metric.formula}")


def _filters(where: tuple[str, ...]) -> list[Filter]:
    """--where DIM=VALUE / DIM!=VALUE; repeated equalities on one dimension mean "any of"."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for clause in where:
        if "!=" in clause:
            dim, value = clause.split("!=", 1)
            op = "ne"
        elif "=" in clause:
            dim, value = clause.split("=", 1)
            op = "eq"
        else:
            raise click.BadParameter(f"{clause!r}: use DIM=VALUE or DIM!=VALUE", param_hint="--where")
        grouped.setdefault((dim.strip(), op), []).append(value.strip())
    filters = []
    for (dim, op), values in grouped.items():
        if len(values) > 1:
            op = "in" if op == "eq" else "not_in"
        filters.append(Filter(dimension=dim, op=op, values=values))
    return filters


@main.command("query")
@click.argument("metrics")
@click.option("--start", required=True, callback=_date, help="First day, inclusive (YYYY-MM-DD).")
@click.option("--end", required=True, callback=_date, help="Last day, inclusive (YYYY-MM-DD).")
@click.option("--grain", type=click.Choice(GRAINS), default=None, help="Split the range into periods.")
@click.option("--group-by", "group_by", multiple=True, help="A customer column or plan / product / currency.")
@click.option("--where", multiple=True, help="DIM=VALUE or DIM!=VALUE (repeat for several values).")
@click.option("--order-by", default=None, help="Rank groups by this metric, largest first.")
@click.option("--limit", type=int, default=None, help="Keep the top N groups of each period.")
@click.option("--gross-margin", type=float, default=None, help="Gross margin for LTV (default: stored setting, 1.0).")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print rows, SQL and formulas as one JSON object.")
@click.option("--sql", "show_sql", is_flag=True, help="Also print the SQL that produced the result.")
@click.option("--dialect", type=click.Choice(DIALECTS), default=None, help="Print the SQL transpiled to this dialect.")
def query_cmd(metrics, start, end, grain, group_by, where, order_by, limit, gross_margin, db, as_json, show_sql, dialect):
    """Compute METRIC[,METRIC...] from START to END."""
    try:
        query = MetricQuery(
            metrics=[m.strip() for m in metrics.split(",") if m.strip()], start=start, end=end, grain=grain,
            group_by=list(group_by), filters=_filters(where), order_by=order_by, limit=limit,
        )
    except ValidationError as exc:
        raise click.ClickException("; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors()))
    try:
        engine = Engine.open(_db(db))
        if gross_margin is not None:
            engine.settings = Settings.model_validate({**engine.settings.model_dump(), "gross_margin": gross_margin})
        result = engine.run(query)
    except ValidationError as exc:
        raise click.ClickException(rejected(exc))
    except (QueryError, ValueError) as exc:
        raise click.ClickException(str(exc))
    units = {m.name: m.unit for m in result.metrics}
    if as_json:
        payload = result.to_json()
        if dialect:
            payload[f"sql_{dialect}"] = DIALECT_NOTE + "\n" + result.compiled.text(dialect)
        click.echo(json.dumps(payload, indent=2))
        return
    click.echo(table_text(result.rows, units, engine.settings.reporting_currency))
    click.echo("")
    for name, formula in result.formulas().items():
        click.echo(f"{name}: {formula}")
    if show_sql or dialect:
        click.echo("")
        if dialect:
            click.echo(DIALECT_NOTE)
        click.echo(result.compiled.text(dialect or "duckdb"))


# The SQL reads the ledger the import builds; in another warehouse those tables must be there too.
DIALECT_NOTE = ("-- reads the ledger tables analyst builds (movements, change_points, customer_mrr_changes, customers, "
                "subscriptions, ...): copy them from the .duckdb file to run this elsewhere")


def _analyst(db, as_of, model, base_url=None, model_name=None):
    from assistant.agent import Analyst, Backend
    from assistant import llm

    kind = model or ("openai" if llm.configured() else "offline")
    try:
        engine = Engine.open(_db(db))
        return Analyst(engine, as_of=as_of, backend=Backend(kind, base_url, model_name))
    except QueryError as exc:
        raise click.ClickException(str(exc))


def _print_answer(answer, show_sql: bool) -> None:
    from assistant.render import computation_text

    click.echo(answer.answer)
    for computation in answer.computations:
        block = computation_text(computation, show_sql)
        if block:
            click.echo("")
            click.echo(block)


ask_options = [
    db_option,
    click.option("--as-of", "as_of", callback=_date, default=None, help="Resolve 'last month' etc. against this date (default: the data's last day)."),
    click.option("--model", type=click.Choice(["offline", "openai"]), default=None,
                 help="Backend (default: openai when OPENAI_API_KEY or OPENAI_BASE_URL is set, else offline)."),
]


def _with(options):
    def apply(fn):
        for option in reversed(options):
            fn = option(fn)
        return fn
    return apply


@main.command("ask")
@click.argument("question")
@_with(ask_options)
@click.option("--json", "as_json", is_flag=True, help="Print the answer as one JSON object.")
@click.option("--sql", "show_sql", is_flag=True, help="Show the full SQL of every computation.")
def ask_cmd(question, db, as_of, model, as_json, show_sql):
    """Ask a question in plain English."""
    analyst = _analyst(db, as_of, model)
    answer = analyst.ask(question)
    if as_json:
        click.echo(json.dumps(answer.to_json(), indent=2, default=str))
    else:
        _print_answer(answer, show_sql)


@main.command("chat")
@_with(ask_options)
@click.option("--sql", "show_sql", is_flag=True, help="Show the full SQL of every computation.")
def chat_cmd(db, as_of, model, show_sql):
    """A conversation in the terminal; follow-up questions use the context (exit, an empty line or Ctrl-D ends)."""
    analyst = _analyst(db, as_of, model)
    thread = analyst.new_thread()
    click.echo(f"Ask about your revenue (as of {analyst.as_of}); 'exit' or an empty line ends.")
    while True:
        try:
            question = input("> ").strip()
        except (EOFError, KeyboardInterrupt):
            break
        if not question or question.lower() in ("exit", "quit", "bye", "q", ":q"):
            break
        _print_answer(analyst.ask(question, thread), show_sql)
        click.echo("")


@main.command("report")
@click.argument("questions", nargs=-1, required=True)
@_with(ask_options)
@click.option("--format", "fmt", type=click.Choice(["md", "html", "pdf", "csv", "xlsx"]), required=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--title", default="Revenue report")
def report_cmd(questions, db, as_of, model, fmt, output, title):
    """Answer QUESTIONS (one conversation, follow-ups allowed) and write them as a report."""
    from ui import report
    from ui.dataset import DataSet

    analyst = _analyst(db, as_of, model)
    thread = analyst.new_thread()
    items = [(q, analyst.ask(q, thread)) for q in questions]
    report.write(items, fmt, output, title, context=DataSet.of(analyst.engine).label(analyst.as_of))
    click.echo(f"Wrote {output} ({len(items)} answer{'s' if len(items) != 1 else ''}).")


@main.command("ui")
@db_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind (127.0.0.1 keeps it local).")
@click.option("--port", default=7860, show_default=True, type=int)
@click.option("--auth", default=None, help="user:password to require a login (or set ANALYST_AUTH).")
@click.option("--as-of", "as_of", callback=_date, default=None, help="Default as-of date.")
def ui_cmd(db, host, port, auth, as_of):
    """Serve the chat app over the database."""
    from ui.app import serve

    try:
        serve(_db(db), host, port, auth, as_of)
    except (QueryError, ValueError) as exc:
        raise click.ClickException(str(exc))


@main.command("demo")
@click.option("--folder", type=click.Path(file_okay=False, path_type=Path), default=Path("demo-data"), show_default=True)
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), default=Path("demo.duckdb"), show_default=True)
@click.option("--no-ui", is_flag=True, help="Only build the demo data and print its key metrics.")
@click.option("--port", default=7860, show_default=True, type=int)
def demo_cmd(folder, db, no_ui, port):
    """Generate the demo company, import it, print its key metrics and open the chat app."""
    from semantic_layer.periods import add_months, bucket_start, month_end
    from semantic_layer.synthetic import generate

    if not (folder / "subscriptions.csv").exists():
        info = generate(folder)
        click.echo(f"Generated a demo SaaS company in {folder}/ ({info['customers']:,} customers).")
    result = import_paths(db, [folder])
    click.echo(f"Imported it into {db} ({result.first_date} .. {result.last_date}).")
    engine = Engine.open(db)
    last = result.last_date
    quarter = bucket_start(last, "quarter")
    end = last if last == month_end(add_months(quarter, 2)) else quarter - timedelta(days=1)
    rows = engine.run(MetricQuery(metrics=["mrr", "customers", "arpa", "new_mrr", "expansion_mrr", "churned_mrr", "nrr"],
                                  start=add_months(bucket_start(end, "quarter"), -9), end=end, grain="quarter")).rows
    engine.close()
    units = {m.name: m.unit for m in load_catalog().metrics.values()}
    click.echo("\nKey metrics of the last four quarters:\n" + table_text(rows, units))
    if no_ui:
        return
    from ui.app import serve

    click.echo(f"\nOpening the chat app on http://127.0.0.1:{port} (Ctrl-C stops it).")
    serve(db, port=port)


@main.command("info")
@db_option
def info_cmd(db):
    """What data set is loaded."""
    try:
        con = connect(_db(db))
    except QueryError as exc:
        raise click.ClickException(str(exc))
    s = summary(con)
    click.echo(f"customers: {s.customers:,}\nsubscription rows: {s.subscription_rows:,}\n"
               f"dates: {s.first_date} .. {s.last_date}\ncurrencies: {', '.join(s.currencies)}\n"
               f"sources: {', '.join(s.sources)}")


if __name__ == "__main__":
    sys.exit(main())
