"""The data set the app serves, shared by every browser session.

Questions run on read-only connections of the current *generation* of the database. An upload
(or a settings change) builds a new database file, opens it as the next generation and lets
questions already running on the old one finish before its connection is closed, so one
session's upload never breaks another session's running question.
"""

import shutil
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from assistant.agent import Analyst, Backend
from semantic_layer.engine import Engine
from semantic_layer.settings import Settings
from semantic_layer.store import ImportSummary, import_paths, rebuild, settings_of

from .dataset import DataSet

MAX_ANALYSTS = 8


@dataclass
class Generation:
    number: int
    engine: Engine
    dataset: DataSet
    analysts: dict = field(default_factory=dict)
    users: int = 0
    retired: bool = False

    @classmethod
    def open(cls, number: int, db_path: Path) -> "Generation":
        engine = Engine.open(db_path)
        return cls(number, engine, DataSet.of(engine))

    def close_if_unused(self) -> None:
        if self.retired and self.users == 0:
            self.engine.close()


class Workspace:
    def __init__(self, db_path: Path):
        self.db_path = Path(db_path)
        self._lock = threading.Lock()
        self._imports = threading.Lock()
        self._current = Generation.open(1, self.db_path)

    @property
    def generation(self) -> int:
        return self._current.number

    @property
    def dataset(self) -> DataSet:
        """The current data set, for the side panel of every new page."""
        return self._current.dataset

    @contextmanager
    def analyst(self, as_of: date | None, backend: Backend):
        """The assistant for these settings and the generation of the data set it answers on,
        held for one question."""
        with self._lock:
            gen = self._current
            key = (as_of, backend.kind, backend.base_url, backend.model, backend.api_key)
            analyst = gen.analysts.get(key)
            if analyst is None:
                analyst = Analyst(gen.engine, as_of=as_of, backend=backend)
                if len(gen.analysts) >= MAX_ANALYSTS:
                    gen.analysts.pop(next(iter(gen.analysts)))
                gen.analysts[key] = analyst
            gen.users += 1
        try:
            yield analyst, gen
        finally:
            with self._lock:
                gen.users -= 1
                gen.close_if_unused()

    def _swap(self) -> None:
        with self._lock:
            old = self._current
            self._current = Generation.open(old.number + 1, self.db_path)
            old.retired = True
            old.close_if_unused()

    def import_files(self, files: list[Path], progress=None) -> ImportSummary:
        """Import uploaded files (by their own names) as the new data set."""
        with self._imports, tempfile.TemporaryDirectory() as folder:
            for file in files:
                shutil.copyfile(file, Path(folder) / Path(file).name)
            if progress:
                progress(0.3, desc="Validating and building the ledger")
            # The sources name the uploaded files, not the temporary folder they were read from.
            result = import_paths(self.db_path, [Path(folder)], self.settings(),
                                  source_name=lambda source: f"{Path(source).name} (uploaded)")
            if progress:
                progress(0.9, desc="Opening the new data set")
            self._swap()
            return result

    def change_settings(self, **changes) -> Settings:
        """Settings built into the ledger (reporting currency, churn timing) rebuild it."""
        with self._imports:
            settings = self.settings().model_copy(update=changes)
            rebuild(self.db_path, Settings.model_validate(settings.model_dump()))
            self._swap()
            return settings

    def settings(self) -> Settings:
        return settings_of(self.db_path)
