"""The built-in engines (Kokoro, Piper) and the model code they share with the core (dubber.models)."""
