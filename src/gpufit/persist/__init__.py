"""Where gpufit-tui keeps user files: settings, profiles, the user's own catalog entries."""
