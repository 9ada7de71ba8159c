"""The text front end the engines share: scripts, numbers and units as words, pronunciation markup."""
