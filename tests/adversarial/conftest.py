"""Adversarial cases (a new, careless or hostile user): `pytest -m adversarial` runs them all."""


def pytest_configure(config):
    config.addinivalue_line("markers", "adversarial: a case from a new, careless or hostile user (issue 19)")
