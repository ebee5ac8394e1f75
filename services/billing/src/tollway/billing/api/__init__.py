"""HTTP controllers of billing: translate, call one use case, shape the response."""
