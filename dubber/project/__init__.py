"""The project file and its edits: every take of every line, revertable edits, ranking and usage."""
