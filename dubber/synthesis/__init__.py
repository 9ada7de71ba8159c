"""Calling an engine safely: a line's cost checked first, long text split, every call guarded."""
