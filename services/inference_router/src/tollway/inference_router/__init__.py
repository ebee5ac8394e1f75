"""Tollway inference_router: provider routing, fallback, circuit breakers and one usage event per request."""
