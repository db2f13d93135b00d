"""The simulated-human evaluation of DESIGN.md §4: `pairterm eval` and `pairterm eval compare`."""
