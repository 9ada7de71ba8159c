"""Running a dub: the end-to-end pipeline, the editing session, one spoken line, previews."""
