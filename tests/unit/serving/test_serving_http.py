"""The HTTP search API: FastAPI's TestClient for the answers and refusals, and a real uvicorn
server on a loopback port that follows a rollback without a restart."""

import socket
import threading

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from indexgate.lifecycle.promotion import rollback
from indexgate.resources import resources
from indexgate.serving import Index
from indexgate.serving.http import create_app


@pytest.fixture
def served(fake_settings, two_versions):
    """The alias ``docs`` with two promoted versions: (settings, first, second)."""
    return (fake_settings, *two_versions)


def _limited(settings, **api):
    return settings.model_copy(update={"api": settings.api.model_copy(update=api)})


def test_search_and_health(served):
    settings, _, second = served
    client = TestClient(create_app(Index.open("docs", settings)))
    body = client.post("/search", json={"query": "backups run every night", "k": 2}).json()
    assert body["alias"] == "docs" and body["version"] == second and body["k"] == 2
    assert body["hits"][0]["doc_id"] == "backups.md" and {h["version"] for h in body["hits"]} == {second}
    assert set(body["hits"][0]) == {"doc_id", "chunk_id", "start", "end", "score", "text", "version"}
    got = client.get("/search", params={"q": "backups run every night", "k": 2}).json()
    assert [h["chunk_id"] for h in got["hits"]] == [h["chunk_id"] for h in body["hits"]]
    assert client.get("/health").json() == {"alias": "docs", "status": "ok", "live_version": second, "detail": ""}


def test_health_is_503_and_search_503_while_the_alias_serves_nothing(fake_settings):
    client = TestClient(create_app(Index.open("docs", fake_settings)))
    response = client.get("/health")
    assert response.status_code == 503
    assert response.json()["status"] == "not serving" and response.json()["live_version"] is None
    response = client.post("/search", json={"query": "backups"})
    assert response.status_code == 503 and "alias 'docs' does not exist" in response.json()["detail"]


def test_bounds_give_422_with_the_reason(served):
    settings, _, _ = served
    client = TestClient(create_app(Index.open("docs", _limited(settings, max_k=3, max_query_chars=20))))
    for body, where, words in (({"query": "x", "k": 4}, "k", "less than or equal to 3"),
                               ({"query": "x", "k": 0}, "k", "greater than or equal to 1"),
                               ({"query": "x" * 21}, "query", "at most 20 characters"),
                               ({"query": ""}, "query", "at least 1 character"),
                               ({"k": 2}, "query", "Field required"),
                               ({"query": "x", "filter": 1}, "filter", "Extra inputs are not permitted")):
        response = client.post("/search", json=body)
        assert response.status_code == 422, body
        [error] = response.json()["detail"]
        assert error["loc"][-1] == where and words in error["msg"], error
    response = client.get("/search", params={"q": "x", "k": 4})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["query", "k"]
    response = client.post("/search", json={"query": "   "})
    assert response.status_code == 422 and response.json()["detail"] == "the query is empty"
    assert client.post("/search", json={"query": "x" * 20, "k": 3}).status_code == 200


def test_an_api_key_is_required_when_set(served):
    settings, _, second = served
    client = TestClient(create_app(Index.open("docs", settings), api_key="s3cret-key"))
    for headers in ({}, {"X-API-Key": "wrong"}, {"X-API-Key": "s3cret-ke"}, {"Authorization": "Bearer s3cret-key"}):
        response = client.post("/search", json={"query": "backups"}, headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["detail"] == "missing or wrong API key (send it in the X-API-Key header)"
        assert client.get("/search", params={"q": "backups"}, headers=headers).status_code == 401
    ok = client.post("/search", json={"query": "backups"}, headers={"X-API-Key": "s3cret-key"})
    assert ok.status_code == 200 and ok.json()["version"] == second
    assert client.get("/health").status_code == 200  # open, for load balancers
    schemes = client.get("/openapi.json").json()["components"]["securitySchemes"]
    assert schemes == {"APIKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"}}


def test_openapi_describes_the_endpoints_and_their_bounds(served):
    settings, _, _ = served
    client = TestClient(create_app(Index.open("docs", _limited(settings, max_k=7))))
    spec = client.get("/openapi.json").json()
    assert set(spec["paths"]) == {"/search", "/health"}
    assert set(spec["paths"]["/search"]) == {"get", "post"}
    request = spec["components"]["schemas"]["SearchRequest"]["properties"]
    assert request["k"]["maximum"] == 7 and request["query"]["maxLength"] == 2000
    assert "securitySchemes" not in spec.get("components", {})  # no key, no scheme
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


@pytest.fixture
def real_server():
    """``start(app)``: run the app under a real uvicorn server on a free loopback port; returns
    its base URL. Stopped after the test."""
    servers = []

    def start(app) -> str:
        # IPPROTO_TCP named: asyncio sets TCP_NODELAY only on sockets whose protocol says TCP
        # (without it each response waited ~40 ms for a delayed ACK).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        servers.append((server, thread, sock))
        for _ in range(500):
            if server.started:
                break
            threading.Event().wait(0.01)
        assert server.started, "uvicorn did not start"
        return f"http://127.0.0.1:{sock.getsockname()[1]}"

    yield start
    for server, thread, sock in servers:
        server.should_exit = True
        thread.join(10)
        sock.close()


def test_a_real_server_follows_a_rollback_without_a_restart(served, real_server):
    settings, first, second = served
    url = real_server(create_app(Index.open("docs", settings)))
    with httpx.Client(base_url=url, timeout=30) as http:
        assert http.get("/health").json()["live_version"] == second
        assert http.post("/search", json={"query": "canteen serves lunch", "k": 1}).json()["hits"][0]["doc_id"] == "canteen.md"
        res = resources(settings)
        rollback(res.store, res.registry, "docs", by="test")
        assert http.get("/health").json()["live_version"] == first
        body = http.post("/search", json={"query": "canteen serves lunch", "k": 4}).json()
        assert body["version"] == first and "canteen.md" not in {h["doc_id"] for h in body["hits"]}
