"""Cost arithmetic in exact integer micro-USD, holds, and the usage estimator for cancelled streams."""

from fractions import Fraction
from math import ceil

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tollway.inference_router.domain.canonical import ChatRequest, Message, TextPart, Tool, ToolCall, Usage
from tollway.inference_router.domain.catalog import Deployment, Model, Prices
from tollway.inference_router.domain.errors import UnprocessableRequestError
from tollway.inference_router.domain.pricing import cost_micros, effective_max_tokens, hold_micros
from tollway.inference_router.domain.request_rules import check_model_limits
from tollway.inference_router.domain.usage import (
    estimate_prompt_tokens,
    estimate_usage,
    request_chars,
    tokens_for_chars,
)

MINI = Prices(input=150_000, output=600_000, cache_read=75_000, cache_write=150_000)
SONNET = Prices(input=3_000_000, output=15_000_000, cache_read=300_000, cache_write=3_750_000)


def test_plain_cost() -> None:
    # 1000 * $0.15/M + 500 * $0.60/M = $0.00015 + $0.0003 = 450 micro-USD
    assert cost_micros(Usage(prompt_tokens=1000, completion_tokens=500), MINI) == 450


def test_cached_reads_are_priced_apart_from_plain_input() -> None:
    # 600 uncached * 0.15 + 400 cached * 0.075 + 500 * 0.60 = 90 + 30 + 300
    assert cost_micros(Usage(prompt_tokens=1000, completion_tokens=500, cache_read_tokens=400), MINI) == 420


def test_cache_writes_and_rounding_up_once() -> None:
    usage = Usage(prompt_tokens=35, completion_tokens=42, cache_read_tokens=7, cache_write_tokens=3)
    # 25 * 3 + 7 * 0.3 + 3 * 3.75 + 42 * 15 = 75 + 2.1 + 11.25 + 630 = 718.35 → 719
    assert cost_micros(usage, SONNET) == 719


def test_fractions_round_up_never_down() -> None:
    assert cost_micros(Usage(prompt_tokens=1), MINI) == 1  # 0.15 micro-USD
    assert cost_micros(Usage(), MINI) == 0
    assert cost_micros(Usage(prompt_tokens=1_000_000), MINI) == 150_000


def test_reasoning_tokens_are_part_of_completion_not_extra() -> None:
    assert cost_micros(Usage(completion_tokens=10, reasoning_tokens=8), MINI) == 6


@given(
    st.integers(0, 10**9),
    st.integers(0, 10**9),
    st.integers(0, 10**9),
    st.integers(0, 10**9),
    st.lists(st.integers(0, 10**8), min_size=4, max_size=4),
)
def test_cost_is_the_ceiling_of_the_exact_amount(
    prompt: int, completion: int, read: int, write: int, prices: list[int]
) -> None:
    table = Prices(input=prices[0], output=prices[1], cache_read=prices[2], cache_write=prices[3])
    usage = Usage(
        prompt_tokens=prompt + read + write,
        completion_tokens=completion,
        cache_read_tokens=read,
        cache_write_tokens=write,
    )
    exact = Fraction(
        prompt * table.input + read * table.cache_read + write * table.cache_write + completion * table.output,
        1_000_000,
    )
    assert cost_micros(usage, table) == ceil(exact)


MODEL = Model(
    id="m",
    context_window=1000,
    max_output_tokens=100,
    deployments=(Deployment(provider="p", upstream_model="u"),),
    prices=MINI,
)


def test_hold_covers_the_prompt_estimate_and_the_whole_output_cap() -> None:
    request = ChatRequest(model="m", messages=(Message(role="user", content="x" * 4000),))
    assert effective_max_tokens(request, MODEL) == 100
    # 1000 prompt * 0.15 + 100 * 0.60 = 150 + 60
    assert hold_micros(request, MODEL) == 210
    capped = ChatRequest(model="m", messages=request.messages, max_tokens=10)
    assert effective_max_tokens(capped, MODEL) == 10
    assert hold_micros(capped, MODEL) == 156


def test_model_output_cap_is_enforced() -> None:
    check_model_limits(ChatRequest(model="m", messages=(), max_tokens=100), MODEL)
    with pytest.raises(UnprocessableRequestError) as caught:
        check_model_limits(ChatRequest(model="m", messages=(), max_tokens=101), MODEL)
    assert caught.value.message == "max_tokens: must be at most 100 for model 'm', got 101"


def test_tokens_for_chars() -> None:
    assert [tokens_for_chars(n) for n in (0, 1, 4, 5, 8, 9, -3)] == [0, 1, 1, 2, 2, 3, 0]


def test_request_chars_counts_text_calls_results_and_tools() -> None:
    request = ChatRequest(
        model="m",
        messages=(
            Message(role="system", content="sys"),
            Message(role="user", content=(TextPart("hello"), TextPart("!"))),
            Message(role="assistant", tool_calls=(ToolCall(id="c", name="look", arguments='{"q":1}'),)),
            Message(role="tool", tool_call_id="c", content="result"),
        ),
        tools=(Tool(name="look", description="d", parameters={"type": "object"}),),
    )
    tool_chars = len("look") + len("d") + len('{"type":"object"}')
    assert request_chars(request) == 3 + 6 + len("look") + len('{"q":1}') + 6 + tool_chars


def test_prompt_estimate_is_at_least_one() -> None:
    assert estimate_prompt_tokens(ChatRequest(model="m", messages=(Message(role="user", content=""),))) == 1
    assert estimate_prompt_tokens(ChatRequest(model="m", messages=(Message(role="user", content="hello world"),))) == 3


def test_estimate_for_a_cancelled_stream() -> None:
    request = ChatRequest(model="m", messages=(Message(role="user", content="x" * 40),))
    assert estimate_usage(request, delivered_chars=9) == Usage(prompt_tokens=10, completion_tokens=3, estimated=True)
    assert estimate_usage(request, delivered_chars=0) == Usage(prompt_tokens=10, completion_tokens=0, estimated=True)


def test_estimate_prefers_a_reported_prompt_side() -> None:
    request = ChatRequest(model="m", messages=(Message(role="user", content="x" * 40),))
    known = Usage(prompt_tokens=35, completion_tokens=1, cache_read_tokens=7, cache_write_tokens=3)
    assert estimate_usage(request, delivered_chars=4, prompt_usage=known) == Usage(
        prompt_tokens=35, completion_tokens=1, cache_read_tokens=7, cache_write_tokens=3, estimated=True
    )
    assert estimate_usage(request, delivered_chars=4, prompt_usage=Usage()).prompt_tokens == 10
