"""Engine plugin interface and registry (imported as dubber.plugin)."""
