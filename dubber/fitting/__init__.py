"""Fitting and measuring: each line's slot and target, the fitting ladder, the sync rule, and the report of what was measured."""
