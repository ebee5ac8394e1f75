"""Cost of a request in integer micro-USD, rounded up exactly once, and the amount to hold while it runs."""

from __future__ import annotations

from tollway.inference_router.domain.canonical import ChatRequest, Usage
from tollway.inference_router.domain.catalog import Model, Prices
from tollway.inference_router.domain.usage import estimate_prompt_tokens

TOKENS_PER_PRICE_UNIT = 1_000_000  # prices are per million tokens


def cost_micros(usage: Usage, prices: Prices) -> int:
    """Exact cost: each token kind times its price, summed, then divided once and rounded UP, plus the request fee.

    Rounding up (ceil) on the total means we never under-charge and over-charge by less than one micro-USD.
    Cached reads and writes (5-minute and 1-hour) are priced on their own and taken out of the plain input
    count; reasoning tokens are priced on their own and taken out of the plain output count.
    """
    writes_1h = min(usage.cache_write_1h_tokens, usage.cache_write_tokens)
    reasoning = min(usage.reasoning_tokens, usage.completion_tokens)
    numerator = (
        usage.uncached_prompt_tokens * prices.input
        + usage.cache_read_tokens * prices.cache_read
        + (usage.cache_write_tokens - writes_1h) * prices.cache_write
        + writes_1h * prices.cache_write_1h_price
        + (usage.completion_tokens - reasoning) * prices.output
        + reasoning * prices.reasoning_price
    )
    return -(-numerator // TOKENS_PER_PRICE_UNIT) + prices.per_request


def effective_max_tokens(request: ChatRequest, model: Model) -> int:
    """The output cap that applies: the request's, else the model's."""
    return min(request.max_tokens or model.max_output_tokens, model.max_output_tokens)


def hold_micros(request: ChatRequest, model: Model) -> int:
    """What to reserve while the request runs: the estimated prompt plus the full output cap, both uncached.

    An upper bound for the output and an estimate for the input: enough to bound overspend, not a bill.
    """
    worst = Usage(prompt_tokens=estimate_prompt_tokens(request), completion_tokens=effective_max_tokens(request, model))
    return cost_micros(worst, model.prices)
