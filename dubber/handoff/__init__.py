"""Hand-off and checks: the files one run writes, timelines for editing software, and the finished dub verified."""
