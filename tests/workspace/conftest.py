import pytest

from layerforge.workspace import SynchronousRunner, Workspace
from layerforge.workspace.events import Recorder


@pytest.fixture
def workspace():
    """The spiral example, 3 epochs, trained in the calling thread."""
    ws = Workspace(SynchronousRunner())
    ws.open_example("spiral")
    ws.set_settings(epochs=3, device="cpu")
    return ws


@pytest.fixture
def recorder(workspace):
    return Recorder(workspace.events)
