"""Shared fixtures for the training tests: small built-in datasets and quick settings."""
import pytest

from layerforge.data import load_dataset
from layerforge.graph import get_template
from layerforge.training import TrainingSettings
from layerforge.training.examples import spec_for_dataset


@pytest.fixture(scope="session")
def spiral():
    return load_dataset("spiral")


@pytest.fixture(scope="session")
def sine():
    return load_dataset("sine")


@pytest.fixture(scope="session")
def digits():
    return load_dataset("digits")


@pytest.fixture(scope="session")
def template_run():
    return _template_run


def _template_run(key: str, dataset, **changes):
    """(spec, settings) of a template fitted to ``dataset``, its training defaults changed by ``changes``."""
    template = get_template(key)
    changes.setdefault("device", "cpu")
    return spec_for_dataset(template, dataset), TrainingSettings.from_template(template, **changes)
