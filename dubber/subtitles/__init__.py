"""Subtitles in: cues from SRT, ASS and WebVTT, what is spoken, in which language and by whom."""
