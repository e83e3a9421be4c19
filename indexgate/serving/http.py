"""The search API over HTTP: a FastAPI app on one :class:`~indexgate.serving.index.Index`.

Endpoints:

- ``POST /search`` ({query, k}) and ``GET /search?q=...&k=...`` answer from the version the
  alias serves when the request starts, and say which;
- ``GET /health`` names the alias and its live version (503 when it serves nothing);
- ``/docs`` and ``/openapi.json`` describe them.

``k`` and the query length are bounded by ``settings.api`` (HTTP 422 with the reason).
With an API key, a search must carry it in the ``X-API-Key`` header. It is compared in constant
time; without it the answer is HTTP 401. Health and the docs stay open, for load balancers and
readers. Every search is filtered by the groups of the ``X-IndexGate-Groups`` header. A fronting
proxy sets it after authenticating the caller. Without it, a search gets no hit
(docs/access.md).
"""

# No `from __future__ import annotations`: FastAPI reads the request models defined in
# create_app from real annotations, not from strings it cannot resolve there.

import hmac
from typing import Literal

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Security
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, ConfigDict, Field

from indexgate import __version__
from indexgate.access import split_groups
from indexgate.errors import IndexGateError, NotServing, QueryError
from indexgate.serving.index import DEFAULT_K, Answer, Index

API_KEY_HEADER = "X-API-Key"
# The caller's groups, comma separated, set by the fronting proxy that authenticated the caller
# (docs/access.md). Absent: no group, so no hit. There is no unfiltered search over HTTP.
GROUPS_HEADER = "X-IndexGate-Groups"


class HitOut(BaseModel):
    doc_id: str
    chunk_id: str
    start: int = Field(description="offset of the chunk's first character in the document's text")
    end: int = Field(description="offset after the chunk's last character")
    score: float = Field(description="cosine similarity to the query")
    text: str
    version: str = Field(description="the version this hit comes from (always the answer's version)")


class SearchResponse(BaseModel):
    alias: str
    version: str = Field(description="the version the alias served when the search started")
    query: str
    k: int
    hits: list[HitOut]


class Health(BaseModel):
    alias: str
    status: Literal["ok", "not serving"]
    live_version: str | None
    detail: str = ""


def create_app(index: Index, api_key: str | None = None) -> FastAPI:
    """The app serving ``index``. ``api_key``: when given, every search must carry it."""
    limits = index.settings.api
    default_k = min(DEFAULT_K, limits.max_k)

    class SearchRequest(BaseModel):
        model_config = ConfigDict(extra="forbid")

        query: str = Field(min_length=1, max_length=limits.max_query_chars, description="the query text")
        k: int = Field(default_k, ge=1, le=limits.max_k, description="how many hits")

    app = FastAPI(
        title=f"IndexGate search: {index.alias}", version=__version__,
        description=f"Search the alias {index.alias!r}. Every answer comes from the version the alias served"
                    " when the request started, and names it. Promotions and rollbacks are followed"
                    " without a restart.")
    key_header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False)
    expected = api_key.encode() if api_key else None

    def require_key(given: str | None = Security(key_header)) -> None:
        if expected is None:
            return
        # hmac.compare_digest takes as long whatever the first wrong character: no timing hint.
        if given is None or not hmac.compare_digest(given.encode(), expected):
            raise HTTPException(401, f"missing or wrong API key (send it in the {API_KEY_HEADER} header)",
                                headers={"WWW-Authenticate": "ApiKey"})

    guard = [Depends(require_key)] if expected else []

    def answer(query: str, k: int, groups: str | None) -> Answer:
        try:
            return index.search(query, k, groups=split_groups(groups))
        except QueryError as exc:
            raise HTTPException(422, str(exc)) from None
        except IndexGateError as exc:
            # Not the caller's fault: nothing is served, or the served version cannot be searched.
            raise HTTPException(503, str(exc)) from None

    @app.post("/search", response_model=SearchResponse, dependencies=guard,
              responses={401: {"description": "missing or wrong API key"},
                         503: {"description": "the alias serves nothing, or its version cannot be searched"}})
    def search(body: SearchRequest, groups: str | None = Header(None, alias=GROUPS_HEADER)) -> dict:
        """The top-k chunks for a query, among the documents the caller's groups may read."""
        return answer(body.query, body.k, groups).as_dict()

    @app.get("/search", response_model=SearchResponse, dependencies=guard,
             responses={401: {"description": "missing or wrong API key"},
                        503: {"description": "the alias serves nothing, or its version cannot be searched"}})
    def search_get(q: str = Query(min_length=1, max_length=limits.max_query_chars, description="the query text"),
                   k: int = Query(default_k, ge=1, le=limits.max_k, description="how many hits"),
                   groups: str | None = Header(None, alias=GROUPS_HEADER)) -> dict:
        """The top-k chunks for a query, as a GET."""
        return answer(q, k, groups).as_dict()

    @app.get("/health", response_model=Health, responses={503: {"model": Health, "description": "not serving"}})
    def health():
        """The alias and the version it serves now; 503 when it serves nothing."""
        try:
            served = index.resolve()
        except NotServing as exc:
            return JSONResponse(Health(alias=index.alias, status="not serving", live_version=None,
                                       detail=str(exc)).model_dump(), status_code=503)
        return Health(alias=index.alias, status="ok", live_version=served.version)

    return app


def serve(index: Index, host: str, port: int, api_key: str | None = None) -> None:
    """Run the app with uvicorn until interrupted."""
    import uvicorn

    uvicorn.run(create_app(index, api_key), host=host, port=port, log_level="info")
