"""Tollway gateway: the only public ingress: auth, rate limits, credit gate, routing to inference_router."""
