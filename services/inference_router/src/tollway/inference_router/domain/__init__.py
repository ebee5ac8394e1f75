"""Pure rules of inference_router: catalogue, canonical chat shapes, format translation, cost, routing, breakers."""
