"""Fitting and measuring: each line's slot and target, the fitting ladder, the sync rule, the report."""
