"""Subtitles in: cues read from SRT, ASS and WebVTT, what is spoken, in which language, by whom, and what a dub would trip on."""
