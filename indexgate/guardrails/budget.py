"""The embedding budget: estimate what a sync will embed and hold it when that is too much."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

# The flag that confirms a held sync (indexgate sync; the sync and reindex flows' confirm_budget).
CONFIRM_FLAG = "--confirm-budget"


class EmbeddingBudget(BaseModel):
    """Limits per sync on what is embedded after the embedding cache. None: no limit."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_texts: int | None = Field(None, ge=0)
    max_tokens: int | None = Field(None, ge=0)
    max_cost: float | None = Field(None, ge=0)
    # Price of the embedding provider; 0 for a local model. Needed only for max_cost.
    price_per_million_tokens: float = Field(0.0, ge=0)


@dataclass(frozen=True)
class BudgetDecision:
    """The estimate for one sync and whether it is held. ``message`` is set when held."""

    texts: int
    tokens: int
    cost: float
    held: bool
    message: str | None = None


def check_budget(
    texts: int, tokens: int, budget: EmbeddingBudget, command: str = f"indexgate sync {CONFIRM_FLAG}"
) -> BudgetDecision:
    """Estimate ``texts`` texts of ``tokens`` tokens (both after the cache) against ``budget``.

    Held when any limit is exceeded (a value equal to its limit passes). The message names
    every exceeded limit, the estimate, and ``command``: the command that confirms the sync.
    """
    if texts < 0 or tokens < 0:
        raise ValueError(f"texts and tokens cannot be negative (got {texts}, {tokens})")
    cost = tokens / 1_000_000 * budget.price_per_million_tokens
    over = []
    if budget.max_texts is not None and texts > budget.max_texts:
        over.append(f"{texts:,} texts > max_texts {budget.max_texts:,}")
    if budget.max_tokens is not None and tokens > budget.max_tokens:
        over.append(f"{tokens:,} tokens > max_tokens {budget.max_tokens:,}")
    if budget.max_cost is not None and cost > budget.max_cost:
        over.append(f"cost {cost:.2f} > max_cost {budget.max_cost:.2f}")
    if not over:
        return BudgetDecision(texts, tokens, cost, held=False)
    message = (
        f"held before embedding: {texts:,} texts, {tokens:,} tokens, estimated cost {cost:.2f}"
        f" ({'; '.join(over)}); to embed anyway run: {command}"
    )
    return BudgetDecision(texts, tokens, cost, held=True, message=message)
