"""HTTP controllers of the gateway: translate, call one use case, shape the response."""
