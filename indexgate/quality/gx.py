"""Great Expectations behind one class: validate data frames with suites, then write Data Docs.

The only module of IndexGate that imports Great Expectations (1.x). The rest of the library sees
:class:`Check` results. The suites run in an ephemeral (in-memory) data context. Each run's Data
Docs site is written under ``<folder>/gx/uncommitted/data_docs/local_site``, in the version's
work folder. So the Data Docs stay beside the data they describe.

Why in memory: a file context rewrites its YAML project file for every data source, asset, suite
and validation definition added. That took 0.62-0.87 s per version, against 0.56-0.76 s in
memory, Data Docs included, on the development machine. And nothing reads that project back:
the checks go to the manifest, the results to the Data Docs.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from indexgate.errors import first_line
from indexgate.quality.suites import Suite

log = logging.getLogger(__name__)
SAMPLE = 5  # ids of failing rows kept per check
SITE = "local_site"
DOCS_DIR = ("gx", "uncommitted", "data_docs", SITE)


class DataDocsError(OSError):
    """Great Expectations could not write a page of the Data Docs. One line: the error it met."""


# What GX logs for a page it could not write: its own words, then 'OSError: "..."  Traceback: "...'.
_GX_FAILURE = re.compile(r'(\w+): "(.*?)"\.\s+Traceback', re.S)


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def _gx_errors():
    """GX's error log records of the block, kept from stderr; :class:`DataDocsError` after the
    block if there was one, or if the block raised. GX catches a page that fails to render or write (a full disk), logs
    the error with its traceback and goes on. With no handler configured, Python's last-resort
    handler printed that traceback on the user's terminal, from the quality worker, at any time."""
    gx_log = logging.getLogger("great_expectations")
    errors, propagate = _Errors(), gx_log.propagate
    gx_log.addHandler(errors)
    gx_log.propagate = False
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - what GX did not catch (its static files, say): one line too
        raise DataDocsError(f"Data Docs not written: {type(exc).__name__}: {first_line(exc)}") from None
    finally:
        gx_log.removeHandler(errors)
        gx_log.propagate = propagate
    if errors.messages:
        found = _GX_FAILURE.search(errors.messages[0])
        what = f"{found[1]}: {found[2]}" if found else errors.messages[0].strip().splitlines()[0]
        raise DataDocsError(f"Data Docs not written: {what}")


def data_docs_index(folder: Path) -> Path:
    """Where the Data Docs index page of the run with this work folder is (or will be) written."""
    return Path(folder).joinpath(*DOCS_DIR, "index.html")


def _site_config(folder: Path) -> dict:
    # GX's default site, minus the pages of the bare suites and profiling runs: each validation
    # page already shows every expectation with its result, and every page costs a Jinja rendering.
    return {
        "class_name": "SiteBuilder", "show_how_to_buttons": False,
        "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                          "base_directory": str(Path(folder).resolve().joinpath(*DOCS_DIR))},
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


class _Context:
    """An ephemeral (in-memory) GX data context. It holds IndexGate's data source, one asset and
    batch definition per suite name, and each suite's expectation suite and validation definition.

    Building these is a large part of GX's time. GX serialises its whole project config again for
    every asset and batch definition added, and for every suite and definition too. Validating a
    version's three suites took 0.26-0.46 s in a new context, and 0.19-0.26 s in a reused one, on
    the development machine. So a context is reused, run after run, through :func:`_take` and
    :func:`_give_back`:

    - a run clears the validation results of the run before, so its Data Docs list only its own;
    - a suite whose expectations differ from the last run's (other thresholds, an empty table) is
      replaced before it is validated."""

    def __init__(self) -> None:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")  # no usage statistics, no network
        import great_expectations as gx
        from great_expectations.data_context.types.base import (
            DataContextConfig, InMemoryStoreBackendDefaults, ProgressBarsConfig,
        )

        self.gx = gx
        self.context = gx.get_context(mode="ephemeral", project_config=DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(), analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False)))
        self._source = self.context.data_sources.add_or_update_pandas("indexgate")
        self._batches: dict[str, Any] = {}
        self._definitions: dict[str, tuple[Suite, Any]] = {}

    def definition(self, suite: Suite):
        """The validation definition of ``suite``, built anew only when its expectations changed."""
        known = self._definitions.get(suite.name)
        if known is not None and known[0] == suite:
            return known[1]
        gx = self.gx
        if suite.name not in self._batches:
            self._batches[suite.name] = self._source.add_dataframe_asset(suite.name) \
                .add_batch_definition_whole_dataframe("whole")
        # meta names each expectation, to match results to specs whatever order GX reports them in
        expectations = [getattr(gx.expectations, s.expectation)(**s.kwargs, meta={"indexgate": s.name})
                        for s in suite.specs]
        gx_suite = self.context.suites.add_or_update(gx.ExpectationSuite(name=suite.name, expectations=expectations))
        definition = self.context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=suite.name, data=self._batches[suite.name], suite=gx_suite))
        self._definitions[suite.name] = (suite, definition)
        return definition

    def clear_results(self) -> None:
        store = self.context.validation_results_store
        for key in store.list_keys():
            store.remove_key(key)


_CONTEXTS: list[_Context] = []  # idle contexts of this process
_CONTEXTS_LOCK = threading.Lock()


def _take() -> _Context:
    with _CONTEXTS_LOCK:
        context = _CONTEXTS.pop() if _CONTEXTS else None
    context = context or _Context()
    context.clear_results()
    return context


def _give_back(context: _Context) -> None:
    with _CONTEXTS_LOCK:
        _CONTEXTS.append(context)


class DataDocs:
    """The validated suites of one run, whose Data Docs are not written yet (see :meth:`write`)."""

    def __init__(self, context: _Context, folder: Path):
        self._context = context
        self._folder = Path(folder)
        self.index = data_docs_index(folder)

    def write(self) -> Path:
        """Render the site, once per version: the index page and one page per suite validated.
        Returns the index page. The run's context goes back to be reused. A page GX could not
        write raises :class:`DataDocsError` (one line), never a traceback on stderr."""
        context = self._context.context
        context.variables.data_docs_sites = {SITE: _site_config(self._folder)}
        with _gx_errors():
            context.build_data_docs(site_names=[SITE])
        _give_back(self._context)
        return self.index


class Validation:
    """The suites of one run, validated one at a time into one GX context (a reused one: see
    :class:`_Context`), whose Data Docs are written once every suite has run (:meth:`data_docs`).
    A context that raised is not reused."""

    def __init__(self, folder: Path):
        self._folder = Path(folder)
        self._context = _take()

    def validate(self, suite: Suite, frame: pd.DataFrame) -> list[Check]:
        """Validate one table with its suite; its result goes to the run's Data Docs."""
        # Stores its result in the context, from which the Data Docs are rendered.
        validation = self._context.definition(suite).run(batch_parameters={"dataframe": frame}, result_format={
            "result_format": "COMPLETE", "unexpected_index_column_names": [suite.id_column]})
        return _checks(suite, validation)

    def data_docs(self) -> DataDocs:
        """The run's Data Docs, of the suites validated so far (written by :meth:`DataDocs.write`)."""
        return DataDocs(self._context, self._folder)


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
