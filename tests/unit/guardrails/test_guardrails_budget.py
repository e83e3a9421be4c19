"""The embedding budget: an estimate and a hold decision with the command that confirms."""

import pytest

from indexgate.guardrails.budget import CONFIRM_FLAG, EmbeddingBudget, check_budget


def test_no_limits_never_holds():
    decision = check_budget(10**6, 10**9, EmbeddingBudget())
    assert not decision.held and decision.message is None


def test_at_the_limit_passes_above_it_holds():
    budget = EmbeddingBudget(max_tokens=1000)
    assert not check_budget(5, 1000, budget).held
    decision = check_budget(5, 1001, budget)
    assert decision.held
    assert "1,001 tokens > max_tokens 1,000" in decision.message
    assert decision.message.endswith(f"indexgate sync {CONFIRM_FLAG}")


def test_cost_from_price_and_every_exceeded_limit_named():
    budget = EmbeddingBudget(max_texts=100, max_tokens=10**6, max_cost=0.5,
                             price_per_million_tokens=0.13)
    decision = check_budget(120_000, 5_000_000, budget, command="indexgate sync --x y")
    assert decision.cost == pytest.approx(0.65)
    assert decision.held
    assert decision.message == (
        "held before embedding: 120,000 texts, 5,000,000 tokens, estimated cost 0.65"
        " (120,000 texts > max_texts 100; 5,000,000 tokens > max_tokens 1,000,000;"
        " cost 0.65 > max_cost 0.50); to embed anyway run: indexgate sync --x y"
    )


def test_negative_counts_are_refused():
    with pytest.raises(ValueError, match="cannot be negative"):
        check_budget(-1, 0, EmbeddingBudget())
