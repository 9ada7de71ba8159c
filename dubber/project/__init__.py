"""The project and its edits: every take of every line saved beside the output, revertable edits, ranking and usage."""
