"""Audio on its own, shared by the engines and the core: samples, speech measurement, loudness, pitch, and media read and written with ffmpeg."""
