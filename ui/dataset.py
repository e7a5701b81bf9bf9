"""What data set a database holds, in words: the app's side panel and the subtitle of reports,
which must name the data the answers were computed on (not just the database file's name)."""

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from semantic_layer.engine import Engine
from semantic_layer.store import summary


@dataclass(frozen=True)
class DataSet:
    customers: int
    subscription_rows: int
    first_date: date | None
    last_date: date | None
    currencies: list[str]
    reporting_currency: str
    imported_at: datetime | None
    sources: list[str]

    @classmethod
    def of(cls, engine: Engine) -> "DataSet":
        cursor = engine.con.cursor()
        try:
            s = summary(cursor)
            imported = cursor.execute("SELECT max(imported_at) FROM imports").fetchall()[0][0]
        finally:
            cursor.close()
        return cls(s.customers, s.subscription_rows, s.first_date, s.last_date, s.currencies,
                   engine.settings.reporting_currency, imported, s.sources)

    @property
    def currency_choices(self) -> list[str]:
        return sorted({self.reporting_currency, *self.currencies})

    def _imported(self) -> str:
        return f"{self.imported_at:%Y-%m-%d %H:%M} UTC" if self.imported_at else "unknown"

    def panel(self) -> str:
        """Markdown for the side panel."""
        return (f"**{self.customers:,} customers**, {self.subscription_rows:,} subscription rows  \n"
                f"Dates: {self.first_date} to {self.last_date}  \nCurrencies: {', '.join(self.currencies)} "
                f"(reported in {self.reporting_currency})  \nLast import: {self._imported()}  \n"
                f"Sources: {', '.join(Path(x).name for x in self.sources) or '—'}")

    def label(self, as_of: date) -> str:
        """One line for a report's subtitle: the data and the as-of date answers were computed on."""
        # The folder of a file imported from disk often names the data set (acme/customers.csv).
        sources = ", ".join(_short(s) for s in self.sources) or "unknown files"
        return (f"{sources} imported {self._imported()} ({self.customers:,} customers, "
                f"{self.first_date} to {self.last_date}, amounts in {self.reporting_currency}), as of {as_of}")


def _short(source: str) -> str:
    path = Path(source)
    return f"{path.parent.name}/{path.name}" if path.parent.name else path.name
