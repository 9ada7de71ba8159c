"""Built-in engines and model code (imported as dubber.models)."""
