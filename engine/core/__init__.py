"""Engine kernel pieces: clock, bus, topics, task supervision, errors, ids."""
