"""Great Expectations behind one function: run suites on data frames, write Data Docs.

The only module of IndexGate that imports Great Expectations (1.x): the rest of the library
sees :class:`Check` results. A file data context lives in ``<folder>/gx`` (the version's work
folder), so each run's validation results and Data Docs stay beside the data they describe.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from indexgate.quality.suites import Suite

log = logging.getLogger(__name__)
SAMPLE = 5  # ids of failing rows kept per check
SITE = "local_site"
# GX's default site, minus the pages of the bare suites and profiling runs: each validation page
# already shows every expectation with its result, and every page costs a Jinja rendering.
_SITE_CONFIG = {
    "class_name": "SiteBuilder", "show_how_to_buttons": False,
    "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": f"uncommitted/data_docs/{SITE}/"},
    "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    "site_section_builders": {"expectations": "0", "profiling": "0"},
}


@dataclass(frozen=True)
class Check:
    """The outcome of one expectation on one table."""

    suite: str
    name: str
    expectation: str
    success: bool
    observed: Any
    threshold: str
    unexpected: int | None = None
    rows: int | None = None
    sample: tuple[str, ...] = field(default_factory=tuple)

    @property
    def gate(self) -> str:
        return f"quality.{self.suite}.{self.name}"


def _plain(value: Any) -> Any:
    """numpy scalars -> Python, so results serialise to JSON."""
    if hasattr(value, "item") and not isinstance(value, (list, tuple, dict, str)):
        return value.item()
    return value


def run_suites(folder: Path, tables: list[tuple[Suite, pd.DataFrame]]) -> tuple[list[Check], Path]:
    """Validate each table with its suite; return every check and the Data Docs index page."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")  # no usage statistics, no network
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="file", project_root_dir=str(folder))
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    context.variables.data_docs_sites = {SITE: _SITE_CONFIG}
    context.variables.save()
    source = context.data_sources.add_or_update_pandas("indexgate")
    checks: list[Check] = []
    for suite, frame in tables:
        batch = source.add_dataframe_asset(suite.name).add_batch_definition_whole_dataframe("whole")
        # meta names each expectation, to match results to specs whatever order GX reports them in
        expectations = [getattr(gx.expectations, s.expectation)(**s.kwargs, meta={"indexgate": s.name})
                        for s in suite.specs]
        gx_suite = context.suites.add_or_update(gx.ExpectationSuite(name=suite.name, expectations=expectations))
        definition = context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=suite.name, data=batch, suite=gx_suite))
        # Stores its result in the context, from which the Data Docs below are rendered.
        validation = definition.run(batch_parameters={"dataframe": frame}, result_format={
            "result_format": "COMPLETE", "unexpected_index_column_names": [suite.id_column]})
        checks += _checks(suite, validation)
    # Rendering the site is most of GX's cost: once per version, not once per suite (a checkpoint
    # per suite, each with an UpdateDataDocsAction, rebuilt the whole site three times).
    context.build_data_docs(site_names=[SITE])
    index = folder / "gx" / "uncommitted" / "data_docs" / SITE / "index.html"
    return checks, index


def _checks(suite: Suite, validation) -> list[Check]:
    results = {(r.expectation_config.meta or {}).get("indexgate"): r for r in validation.results}
    checks = []
    for spec in suite.specs:
        r = results[spec.name]
        res = r.result or {}
        ids = tuple(str(row.get(suite.id_column)) for row in (res.get("unexpected_index_list") or [])[:SAMPLE]
                    if isinstance(row, dict))
        if r.exception_info and r.exception_info.get("raised_exception"):
            log.warning("expectation %s raised: %s", spec.name, r.exception_info.get("exception_message"))
        checks.append(Check(
            suite=suite.name, name=spec.name, expectation=r.expectation_config.type, success=bool(r.success),
            observed=_plain(res.get("observed_value")), threshold=spec.threshold,
            unexpected=_plain(res.get("unexpected_count")), rows=_plain(res.get("element_count")), sample=ids,
        ))
    return checks
