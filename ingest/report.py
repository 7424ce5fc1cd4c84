"""What an ingest run tells its caller: the counts and failures (`Report`), and where a run
is while it goes (`Progress`) for progress bars and job status."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from app.observability import IngestCounts
from ingest.prepare import Failure
from ingest.stages import Stages


@dataclass
class Report(IngestCounts):
    embedded: int = 0
    repeated: int = 0  # short chunks left out: earlier documents of the run repeat them
    seconds: float = 0.0
    errors: list[Failure] = field(default_factory=list)
    stages: Stages = field(default_factory=Stages)  # where the time went (not in as_dict)

    @property
    def documents(self) -> int:
        return self.added + self.updated + self.unchanged + self.failed

    def fail(self, failure: Failure) -> None:
        self.failed += 1
        self.errors.append(failure)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        del out["stages"]
        out["seconds"] = round(self.seconds, 3)
        return out

    def summary(self) -> str:
        return (
            f"documents: {self.added} added, {self.updated} updated, {self.unchanged} unchanged,"
            f" {self.deleted} deleted, {self.failed} failed; {self.chunks} chunks"
            + (f" ({self.repeated} repeated left out)" if self.repeated else "")
            + f" in {self.seconds:.1f} s"
        )


@dataclass(frozen=True)
class Progress:
    """Where a run is, for progress bars and job status: the report so far, and the work
    read but not written yet. `embedded_chunks` counts the batch being embedded too, as
    the embedder reports each of its parts, so a bar moves while a 1,024-chunk batch runs."""

    report: Report
    prepared_documents: int  # read and hashed (unchanged and failed ones included)
    prepared_chunks: int  # cut into chunks to embed
    embedded_chunks: int


ProgressCallback = Callable[[Progress], None]
