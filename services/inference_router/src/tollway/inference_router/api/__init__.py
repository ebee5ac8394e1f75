"""HTTP entrypoints of inference_router: translate, call one use case, shape the response."""
