"""Timeline and mix: takes laid at exact samples, mixed with the original, split into stems."""
