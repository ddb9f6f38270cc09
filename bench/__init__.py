"""Benchmarks of the Paddock service (`python -m bench.service_bench`); results in
docs/PERFORMANCE.md. Performance goals are shown here, never by timed unit tests."""
