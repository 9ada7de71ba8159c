"""Hand-off and checks: the files a run writes, timelines for editing software, the dub verified."""
