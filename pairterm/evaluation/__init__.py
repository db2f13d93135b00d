"""The simulated-human evaluation of docs/design.md §5: `pairterm eval` and `pairterm eval compare`."""
