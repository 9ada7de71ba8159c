"""Running a dub: the end-to-end pipeline, an editing session over a project, one spoken line, and previews."""
