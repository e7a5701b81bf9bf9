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
        # Found check by check, read best file by file and line by line (files in the order met).
        files = {p.file: i for i, p in reversed(list(enumerate(problems)))}
        self.problems = problems = sorted(problems, key=lambda p: (files[p.file], _position(p.where)))
        lines = [str(p) for p in problems[:shown]]
        if len(problems) > shown:
            lines.append(f"... and {len(problems) - shown} more problems")
        noun = "problem" if len(problems) == 1 else "problems"
        super().__init__(
            f"Import rejected ({len(problems)} {noun}); the database was left as it was.\n"
            + "\n".join(lines)
        )


def not_utf8(file: str, exc: UnicodeDecodeError) -> ImportRejected:
    """A file in another encoding; UTF-16 (what Excel's 'Unicode text' and PowerShell's `>` write) is named."""
    utf16 = isinstance(exc.object, bytes) and exc.object[:2] in (b"\xff\xfe", b"\xfe\xff")
    hint = "; it looks like UTF-16: save it as UTF-8" if utf16 else "; save it as UTF-8"
    return ImportRejected([ImportProblem(file, None, None, f"not UTF-8 text ({exc.reason}){hint}")])


def _position(where: str | None) -> int:
    """12 for "line 12" or "row 12"; problems of a whole file come first."""
    number = (where or "").rpartition(" ")[2]
    return int(number) if number.isdigit() else 0


class QueryError(ValueError):
    """A query that cannot be answered as asked (unknown metric, bad date, missing rate...)."""
