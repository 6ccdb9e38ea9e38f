"""How containers run: Kubernetes, Compose and docker run, read into one model and checked."""
