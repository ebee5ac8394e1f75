"""Gemini ``usageMetadata`` → canonical usage (for the Gemini adapter and the pricing golden tests).

Gemini counts cached content inside ``promptTokenCount`` (like OpenAI) but reports thinking apart from the
answer: ``candidatesTokenCount`` excludes ``thoughtsTokenCount``, and both are billed as output.
"""

from __future__ import annotations

import msgspec

from tollway.inference_router.domain.canonical import Usage


class UsageMetadataWire(msgspec.Struct, kw_only=True, rename="camel"):
    prompt_token_count: int = 0
    candidates_token_count: int = 0
    thoughts_token_count: int = 0
    cached_content_token_count: int = 0
    tool_use_prompt_token_count: int = 0  # the prompt of a tool-use turn, billed as input
    total_token_count: int = 0


def usage_from_gemini(wire: UsageMetadataWire) -> Usage:
    prompt = wire.prompt_token_count + wire.tool_use_prompt_token_count
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=wire.candidates_token_count + wire.thoughts_token_count,
        cache_read_tokens=min(wire.cached_content_token_count, prompt),
        reasoning_tokens=wire.thoughts_token_count,
    )
