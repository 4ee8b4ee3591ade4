"""A finding: one difference between what should be and what is."""

from dataclasses import asdict, dataclass

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    kind: str
    #: What it is about: ``table``, ``table.column``, an index or constraint name...
    object: str
    expected: object
    actual: object
    severity: str
    hint: str
    #: The table it belongs to, for grouping the report (None: database-wide).
    table: str | None = None

    def as_dict(self):
        return asdict(self)


def has_errors(findings, strict=False):
    return any(f.severity == ERROR or strict for f in findings)
