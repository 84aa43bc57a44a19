"""Errors that name where they come from, so an engineer can go straight to the line."""

from __future__ import annotations


class ConfigError(Exception):
    """A problem in a YAML file: carries file, line and column (1-based) when known."""

    # The area codes a warning concerns (two names that sound alike there), so `check` can
    # keep to the areas an installation answers.
    areas: tuple[str, ...] = ()

    def __init__(self, message: str, file: str | None = None, line: int | None = None,
                 column: int | None = None):
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        super().__init__(str(self))

    @property
    def where(self) -> str:
        if self.file is None:
            return ""
        parts = [self.file]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class ConfigErrors(Exception):
    """Several ConfigErrors found in one pass; `check` reports them all, not just the first."""

    def __init__(self, errors: list[ConfigError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))
