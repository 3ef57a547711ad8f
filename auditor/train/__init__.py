"""Training: recipes and loops, architectures, batched training, executors, the model cache and shadow models."""
