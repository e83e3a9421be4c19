"""What a full reindex did, read back from the manifests.

It gives the evidence that the new version was chunked and embedded for its own fingerprints. It
also says how the regression gate compared it with the version that was live.

The rebuild itself is the sync pipeline (snapshot -> shadow -> gates -> promote), run with other
chunking or embedder settings. A different fingerprint gives a different version id. So nothing
of the live version's chunks (other chunker) or vectors (other embedder) can be reused for it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from indexgate.lifecycle.registry import Registry


@dataclass(frozen=True)
class ReindexSummary:
    alias: str
    version: str
    action: str
    reason: str
    previous: str | None                 # the version live when the rebuild started
    chunker: dict                        # {"previous": fingerprint | None, "new": fingerprint}
    embedder: dict                       # {"previous": {model, id} | None, "new": {model, id}}
    chunks: int
    chunks_carried: int                  # chunk rows copied from the live version (same chunker only)
    embedded: int                        # chunks sent to the model in this run
    reused: int                          # chunks whose vector for the NEW embedder was already cached
    regression: list[dict] = field(default_factory=list)  # the regression gates, as recorded

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def new_chunker(self) -> bool:
        return self.chunker["new"] != self.chunker["previous"]

    @property
    def new_embedder(self) -> bool:
        return (self.embedder["previous"] or {}).get("id") != self.embedder["new"]["id"]

    def markdown(self) -> str:
        old_e, new_e = self.embedder["previous"] or {}, self.embedder["new"]
        lines = [
            f"# Reindex of `{self.alias}`: {self.action}", "",
            f"**{self.action}** version `{self.version}` (was live: `{self.previous or 'nothing'}`): {self.reason}", "",
            "| | live before | this version |", "|---|---|---|",
            f"| chunker fingerprint | `{self.chunker['previous'] or '-'}` | `{self.chunker['new']}` |",
            f"| embedder | {old_e.get('model', '-')} `{old_e.get('id', '-')}` | {new_e['model']} `{new_e['id']}` |",
            "",
            f"- chunks: {self.chunks}; chunked in this run: {self.chunks - self.chunks_carried}; carried from the"
            f" live version: {self.chunks_carried}" + ("" if self.new_chunker else " (same chunker fingerprint)"),
            f"- embedded by the model in this run: {self.embedded}; already in the cache for this embedder"
            f" fingerprint: {self.reused}" + ("" if self.new_embedder else " (same embedder as the live version)"),
            "",
        ]
        if self.regression:
            lines += ["Regression gate (this version against the live one, same golden queries, same run):", "",
                      "| gate | passed | value | threshold | detail |", "|---|---|---|---|---|"]
            lines += [f"| {g['name']} | {'yes' if g['passed'] else 'NO'} | {g['value']} | {g['threshold']} |"
                      f" {g.get('detail', '')} |" for g in self.regression]
        else:
            lines.append("No regression gate ran (no golden set, the policy turned it off, or nothing was built).")
        return "\n".join(lines) + "\n"


def summarize(registry: Registry, outcome: dict) -> ReindexSummary:
    """Read the rebuilt version's manifest (and the previous live version's) for ``outcome``, a
    sync result (``alias``, ``version``, ``action``, ``reason``)."""
    alias, version = outcome["alias"], outcome["version"]
    manifest = registry.load(alias, version)
    # conclude() records the version it was compared against; an unchanged run rebuilt nothing.
    previous = version if outcome["action"] == "unchanged" else manifest.quality.get("baseline")
    before = registry.load(alias, previous) if previous else None
    embedding = manifest.embedding or {}
    return ReindexSummary(
        alias=alias, version=version, action=outcome["action"], reason=outcome["reason"], previous=previous,
        chunker={"previous": before.chunker.get("fingerprint") if before else None,
                 "new": manifest.chunker.get("fingerprint")},
        embedder={"previous": {"model": before.embedder.get("model"), "id": before.embedder.get("id")} if before else None,
                  "new": {"model": manifest.embedder.get("model"), "id": manifest.embedder.get("id")}},
        chunks=manifest.counts.get("chunks", 0), chunks_carried=manifest.changes.get("chunks_carried", 0),
        embedded=embedding.get("embedded", 0), reused=embedding.get("reused", 0),
        regression=[g for g in manifest.gates if g["name"].startswith("regression.")],
    )
