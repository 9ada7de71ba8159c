"""Voices for speakers: each speaker's engine and voice, the nearest stock voice, reference clips."""
