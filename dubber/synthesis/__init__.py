"""Calling an engine safely: what a line may cost checked first, long text split to the engine's limit, every call guarded."""
