"""rcsgate's benchmarks, run by `make bench` (`python -m bench [NAME ...] [--duration S]`).

Speed is measured here and never asserted in tests: a test suite on a shared CI machine
would be flaky, while a figure set beside a baseline from the same run stays comparable.

Adding a benchmark: write `bench/<name>.py` with one function decorated
`@benchmark("<name>", "<what it measures>")` that takes `Options` and returns a `BenchResult`
(sync or async), then add its module to `BENCHMARK_MODULES` in `bench/registry.py`.
`bench/account_get.py` is the example to copy.
"""
