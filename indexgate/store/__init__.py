"""The vector store (Qdrant, embedded or server) and its aliases."""

from indexgate.store.qdrant import Hit, VectorStore, connect, disconnect, disconnect_all

__all__ = ["Hit", "VectorStore", "connect", "disconnect", "disconnect_all"]
