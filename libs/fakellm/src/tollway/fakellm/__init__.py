"""fakellm: a fast, deterministic fake OpenAI/Anthropic upstream served as a raw ASGI app by granian."""
