"""Former home of the store; kept so existing imports keep working."""

from indexgate.store import connect, disconnect, disconnect_all  # noqa: F401
from indexgate.store.base import PAYLOAD_FIELDS, Hit, VectorStore  # noqa: F401
