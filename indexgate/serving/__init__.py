"""The search API for applications: :class:`Index` in Python, ``indexgate serve-api`` over HTTP
(:mod:`indexgate.serving.http`). docs/serving.md describes both."""

from indexgate.errors import EmbedderMismatch, NotServing, QueryError
from indexgate.serving.index import DEFAULT_K, Answer, Index, Served

__all__ = ["DEFAULT_K", "Answer", "EmbedderMismatch", "Index", "NotServing", "QueryError", "Served"]
