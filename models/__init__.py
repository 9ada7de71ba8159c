"""The built-in engines (Kokoro, Piper) and the model code they share with the core: phonemes, ONNX graphs, VAD, speaker embeddings (imported as dubber.models)."""
