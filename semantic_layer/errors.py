"""Errors the semantic layer reports to users in plain words."""

from dataclasses import dataclass


@dataclass(frozen=True)
class ImportProblem:
    file: str
    where: str | None  # "line 12", "row 3", "object in_123"
    column: str | None
    message: str

    def __str__(self) -> str:
        parts = [self.file]
        if self.where:
            parts.append(self.where)
        if self.column:
            parts.append(f"column {self.column}")
        return ", ".join(parts) + ": " + self.message


class ImportRejected(Exception):
    """The whole import is refused; nothing of it is stored."""

    def __init__(self, problems: list[ImportProblem], shown: int = 50):
        self.problems = problems
        lines = [str(p) for p in problems[:shown]]
        if len(problems) > shown:
            lines.append(f"... and {len(problems) - shown} more problems")
        noun = "problem" if len(problems) == 1 else "problems"
        super().__init__(
            f"Import rejected ({len(problems)} {noun}); the database was left as it was.\n"
            + "\n".join(lines)
        )


class QueryError(ValueError):
    """A query that cannot be answered as asked (unknown metric, bad date, missing rate...)."""
