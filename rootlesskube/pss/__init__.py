"""Pod Security: levels, the offline evaluator, manifests."""
