"""Persistence of inference_router: its own ``inference_router`` schema only."""
