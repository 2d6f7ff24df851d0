"""Tools for developers: the browser driving shared by tests, screenshots and benchmarks."""
