"""The build cache, simulated: what each instruction's BuildKit cache key depends on, what a
change rebuilds, and how often each step rebuilt over git history."""
