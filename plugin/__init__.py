"""Engines from outside: the engine contract, the entry-point registry, the cloning-engine adapters and the editor bridges (imported as dubber.plugin)."""
