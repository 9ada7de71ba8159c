"""Voices for speakers: each speaker's engine and voice, the nearest stock voice, and reference clips for cloning."""
