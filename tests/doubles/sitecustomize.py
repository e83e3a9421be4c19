"""Run at the start of every Python process whose PYTHONPATH holds this folder (the tests' children):
the tests' additions to IndexGate (indexgate_test_doubles.install)."""

try:
    import indexgate  # noqa: F401  - a process without IndexGate (a bare venv in a packaging test) gets nothing
except ImportError:
    pass
else:
    import indexgate_test_doubles

    indexgate_test_doubles.install()
