"""Templates: definitions, evaluation, rendering, PDF forms."""
