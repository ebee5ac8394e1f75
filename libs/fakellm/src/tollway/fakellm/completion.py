"""What the fake model answers, independent of provider: text of a fixed length, truncation, or a tool call."""

import msgspec

from tollway.fakellm.controls import Controls
from tollway.fakellm.tokens import placeholder_arguments, prompt_tokens

# Tool arguments go out as input_json_delta / argument deltas of this many characters.
ARGUMENT_PIECE_CHARS = 16


class ToolCall(msgspec.Struct, frozen=True):
    name: str
    arguments: dict[str, object]
    arguments_json: str

    def argument_pieces(self) -> list[str]:
        text = self.arguments_json
        return [text[i : i + ARGUMENT_PIECE_CHARS] for i in range(0, len(text), ARGUMENT_PIECE_CHARS)]


class Answer(msgspec.Struct, frozen=True):
    prompt_tokens: int  # uncached prompt tokens counted from the request text
    text_tokens: int  # visible completion tokens in a text answer (0 for a tool call)
    output_tokens: int  # billed completion tokens: visible or tool call, plus reasoning
    truncated: bool  # max_tokens cut the text short
    tool_call: ToolCall | None


def tool_call(name: str, schema: object) -> ToolCall:
    arguments = placeholder_arguments(schema)
    return ToolCall(name, arguments, msgspec.json.encode(arguments).decode())


def plan_answer(controls: Controls, prompt_chars: int, max_tokens: int | None, tool: ToolCall | None) -> Answer:
    """Token counts for one response; a tool call reports the completion-tokens control as its size."""
    prompt = prompt_tokens(prompt_chars)
    wanted = controls.completion_tokens
    if tool is not None:
        return Answer(prompt, 0, wanted + controls.reasoning_tokens, truncated=False, tool_call=tool)
    visible = wanted if max_tokens is None else max(0, min(wanted, max_tokens))
    return Answer(prompt, visible, visible + controls.reasoning_tokens, truncated=visible < wanted, tool_call=None)
