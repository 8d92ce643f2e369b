"""The run's number settings declared as parameters (type, range, doc), for the editors that show them.

The optimizer's and the schedule's own parameters are declared with their choices (``choices.py``);
these are the settings every run has. ``TrainingSettings`` checks a project file's values; these say
what a person may type.
"""
from __future__ import annotations

from ..graph import Param

LEARNING_RATE = Param("learning_rate", "float", 0.01, "the step size of each update: too high diverges, too low "
                      "crawls", minimum=1e-7, maximum=1e4, label="learning rate")
EPOCHS = Param("epochs", "int", 50, "passes over the training data", minimum=1, maximum=100_000)
BATCH_SIZE = Param("batch_size", "int", 32, "samples per weight update", minimum=1, maximum=65_536,
                   label="batch size")
