"""Root conftest: nbval compares stdout and rich outputs, but never stderr (log noise, progress bars)."""


def pytest_collectstart(collector):
    if collector.fspath and collector.fspath.ext == ".ipynb":
        collector.skip_compare += ("stderr",)
