import csv
from datetime import date
from pathlib import Path

import pytest

from semantic_layer.compiler import MetricQuery
from semantic_layer.engine import Engine
from semantic_layer.store import import_paths

# The workplace's shared data next to the checkout when there is one, else the copy in tests/data.
SHARED = next(p for p in (Path(__file__).resolve().parents[2] / "shared", Path(__file__).parent / "data" / "shared")
              if (p / "data" / "acme").exists())
ACME = SHARED / "data" / "acme"
PLAYBOOK = SHARED / "data" / "mrr-playbook"


def write_csv(path: Path, rows: list[dict]) -> None:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


class Dataset:
    """A small data set written as canonical CSV files, imported into its own database."""

    def __init__(self, folder: Path, subscriptions: list[dict], customers: list[dict] | None = None,
                 fx_rates: list[dict] | None = None, settings=None):
        folder.mkdir(parents=True, exist_ok=True)
        if customers is None:
            customers = [{"customer_id": c} for c in dict.fromkeys(s["customer_id"] for s in subscriptions)]
        write_csv(folder / "customers.csv", customers)
        write_csv(folder / "subscriptions.csv", subscriptions)
        if fx_rates:
            write_csv(folder / "fx_rates.csv", fx_rates)
        self.db = folder / "test.duckdb"
        import_paths(self.db, [folder], settings)
        self.engine = Engine.open(self.db)

    def value(self, metric: str, start: str, end: str, **kwargs):
        result = self.engine.run(MetricQuery(metrics=[metric], start=date.fromisoformat(start),
                                             end=date.fromisoformat(end), **kwargs))
        assert len(result.rows) == 1, result.rows
        return result.rows[0][metric]

    def rows(self, metrics: list[str], start: str, end: str, **kwargs) -> list[dict]:
        return self.engine.run(MetricQuery(metrics=metrics, start=date.fromisoformat(start),
                                           end=date.fromisoformat(end), **kwargs)).rows

    def close(self):
        self.engine.close()


@pytest.fixture
def dataset(tmp_path):
    made = []

    def make(subscriptions, customers=None, fx_rates=None, settings=None, name="data"):
        ds = Dataset(tmp_path / name, subscriptions, customers, fx_rates, settings)
        made.append(ds)
        return ds

    yield make
    for ds in made:
        ds.close()


@pytest.fixture(scope="session")
def acme_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("acme") / "acme.duckdb"
    import_paths(db, [ACME])
    return db


@pytest.fixture(scope="session")
def acme(acme_db):
    engine = Engine.open(acme_db)
    yield engine
    engine.close()
