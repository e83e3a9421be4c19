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

import contextvars
import functools
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from indexgate.quality.suites import Suite

log = logging.getLogger(__name__)
SAMPLE = 5  # ids of failing rows kept per check
SITE = "local_site"
DOCS_DIR = ("gx", "uncommitted", "data_docs", SITE)


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


# Compiled Data Docs templates of this process, by Jinja's bytecode-cache key, and the
# (folder, key) pairs this process has kept on disk.
_COMPILED: dict[str, bytes] = {}
_KEPT: set[tuple[Path, str]] = set()


def _template_cache(directory: Path | None):
    """Jinja's bytecode cache for the Data Docs templates: in memory for the life of the process,
    and in ``directory`` (best effort) for the next process.

    GX builds a new Jinja environment for every page it renders. So every page compiled its
    templates from source again, about three quarters of the rendering. A version's Data Docs
    took 0.23-0.30 s, and 0.06-0.08 s with compiled templates, on the development machine. Jinja
    keys compiled code by template name and a checksum of its source. It checks its own version
    and Python's on loading, so a stale entry is compiled afresh, never used. A cache that cannot
    be written is only slower."""
    import jinja2

    def keep(key: str, data: bytes) -> None:
        if directory is None or (directory, key) in _KEPT:
            return
        try:
            directory.mkdir(parents=True, exist_ok=True)
            tmp = directory / f".{key}.{os.getpid()}.tmp"
            tmp.write_bytes(data)
            tmp.replace(directory / f"{key}.cache")
            _KEPT.add((directory, key))
        except OSError:
            pass

    class TemplateCache(jinja2.BytecodeCache):
        def load_bytecode(self, bucket) -> None:
            data = _COMPILED.get(bucket.key)
            if data is not None:
                keep(bucket.key, data)  # compiled for another folder: keep it in this one too
            elif directory is not None:
                try:
                    data = (directory / f"{bucket.key}.cache").read_bytes()
                except OSError:
                    return
                _KEPT.add((directory, bucket.key))
            bucket.bytecode_from_string(data)

        def dump_bytecode(self, bucket) -> None:
            data = _COMPILED[bucket.key] = bucket.bytecode_to_string()
            _KEPT.discard((directory, bucket.key))  # a broken or stale file: write it again
            keep(bucket.key, data)

    return TemplateCache()


def _use_compiled_templates(directory: Path | None) -> None:
    """Give every GX page view created from now on in this process the template cache."""
    from great_expectations.render.view.view import DefaultJinjaView

    cache = _template_cache(directory)
    init = getattr(DefaultJinjaView.__init__, "__wrapped__", DefaultJinjaView.__init__)

    @functools.wraps(init)
    def with_cache(view, *args, **kwargs):
        init(view, *args, **kwargs)
        view.env.bytecode_cache = cache

    DefaultJinjaView.__init__ = with_cache


_HELD: contextvars.ContextVar = contextvars.ContextVar("indexgate_gx_configuration", default=None)
_LOOKUPS = ("_get_runtime_kwargs", "_get_success_kwargs", "_get_domain_kwargs", "_get_success_kwarg")


def _build_configuration_once() -> None:
    """Make GX build an expectation's configuration once per kwargs lookup, not once per key.

    GX 1.x's ``Expectation.configuration`` is a property that builds a new
    ``ExpectationConfiguration`` on every read. Each build costs a pydantic ``dict()`` of every
    field, a regular expression over the class name and a JSON check of every value. Its kwargs
    lookups (``_get_runtime_kwargs`` and the three it calls) read it again for every key they
    look up.
    That is eleven builds for one lookup of ``ExpectColumnValuesToBeBetween``. A suite makes
    several lookups per metric of every expectation. Together they took 29% of the suites'
    validation time in a pyinstrument profile. Without them the three suites of a 100-document
    version took 140-230 ms instead of 240-380 ms (13 runs with, 8 without, on the same tables).

    Here, while one of those lookups runs on an expectation, every read of that expectation's
    ``configuration`` inside it gets the one configuration built when the lookup began. That
    includes nested lookups. Outside a lookup, a read builds a new one, as before. The lookups
    only read the expectation, so what they return is what GX returns
    (``tests/unit/quality/test_gx.py`` compares them). The class-name conversion is cached (a
    pure function of the name). Applied once per process. A GX without these members is left as
    it is."""
    from great_expectations.expectations import expectation as module

    cls = getattr(module, "Expectation", None)
    prop = getattr(cls, "configuration", None)
    if not isinstance(prop, property) or getattr(prop.fget, "_indexgate_once", False) \
            or not all(callable(getattr(cls, name, None)) for name in _LOOKUPS):
        return
    build = prop.fget

    def configuration(self):
        held = _HELD.get()
        if held is not None and held[0] is self:
            return held[1]
        return build(self)

    def once(lookup):
        @functools.wraps(lookup)
        def with_one_configuration(self, *args, **kwargs):
            held = _HELD.get()
            if held is not None and held[0] is self:
                return lookup(self, *args, **kwargs)
            token = _HELD.set((self, build(self)))
            try:
                return lookup(self, *args, **kwargs)
            finally:
                _HELD.reset(token)
        return with_one_configuration

    configuration._indexgate_once = True
    configuration.__wrapped__ = build  # GX's own (the tests compare with it)
    if callable(getattr(module, "camel_to_snake", None)):
        module.camel_to_snake = functools.lru_cache(maxsize=512)(module.camel_to_snake)
    for name in _LOOKUPS:
        setattr(cls, name, once(getattr(cls, name)))
    cls.configuration = property(configuration, doc=prop.__doc__)


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
        _build_configuration_once()
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

    def __init__(self, context: _Context, folder: Path, templates: Path | None = None):
        self._context = context
        self._folder, self._templates = Path(folder), templates
        self.index = data_docs_index(folder)

    def write(self) -> Path:
        """Render the site, once per version: the index page and one page per suite validated.
        Returns the index page. Compiled page templates are kept in the folder ``templates`` (if
        given). The run's context goes back to be reused."""
        _use_compiled_templates(self._templates)
        context = self._context.context
        context.variables.data_docs_sites = {SITE: _site_config(self._folder)}
        context.build_data_docs(site_names=[SITE])
        _give_back(self._context)
        return self.index


class Validation:
    """The suites of one run, validated one at a time into one GX context (a reused one: see
    :class:`_Context`), whose Data Docs are written once every suite has run (:meth:`data_docs`).
    A context that raised is not reused."""

    def __init__(self, folder: Path, templates: Path | None = None):
        self._folder, self._templates = Path(folder), templates
        self._context = _take()

    def validate(self, suite: Suite, frame: pd.DataFrame) -> list[Check]:
        """Validate one table with its suite; its result goes to the run's Data Docs."""
        # Stores its result in the context, from which the Data Docs are rendered.
        validation = self._context.definition(suite).run(batch_parameters={"dataframe": frame}, result_format={
            "result_format": "COMPLETE", "unexpected_index_column_names": [suite.id_column]})
        return _checks(suite, validation)

    def data_docs(self) -> DataDocs:
        """The run's Data Docs, of the suites validated so far (written by :meth:`DataDocs.write`)."""
        return DataDocs(self._context, self._folder, self._templates)


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
