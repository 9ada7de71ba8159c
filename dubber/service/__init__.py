"""The local HTTP service (`dubber serve`): routes, access control, jobs and documentation."""
