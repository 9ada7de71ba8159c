"""Engines from outside: the contract, the entry-point registry, cloning adapters, editor bridges (dubber.plugin)."""
