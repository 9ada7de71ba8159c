"""Audio shared by the engines and the core: samples, speech spans, loudness, pitch, media through ffmpeg."""
