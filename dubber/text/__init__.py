"""The text front end engines share: scripts, numbers and units written as words, and pronunciation markup."""
