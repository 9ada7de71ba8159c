"""Timeline and mix: takes laid at exact samples, mixed with the original, and split into stems."""
