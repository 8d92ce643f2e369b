"""The Trainer's results half: its weights, predictions from another thread while it trains, and what
a project stores about the data. Mixed into :class:`~layerforge.training.trainer.Trainer`."""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from .batching import forward as _forward
from .errors import TrainingError
from .trainer_steering import _to_cpu


class TrainerResults:
    """normalization / data_info / best_state / state_dict / predict / predict_classes."""

    @property
    def normalization(self) -> dict | None:
        """The training split's standardisation statistics (``Normalization.to_dict()``), or None."""
        return self.problem.normalization.to_dict() if self.problem.normalization else None

    @property
    def data_info(self) -> dict:
        """What prediction needs to know about the data, stored with a project."""
        p = self.problem
        return {"dataset": p.dataset.name, "task": p.task, "target": p.target, "class_names": list(p.class_names),
                "input_shape": list(p.dataset.input_shape), "output_shape": list(p.output_shape)}

    @property
    def best_state(self) -> OrderedDict | None:
        """CPU copies of the weights at the best epoch (lowest monitored loss), or None before one."""
        with self._lock:
            return None if self._best_state is None else _to_cpu(self._best_state)

    def state_dict(self) -> OrderedDict:
        """CPU copies of the current weights and buffers."""
        with self._lock:
            if self.model is None:
                raise TrainingError("the run has not built its model yet (Trainer.prepare)")
            return _to_cpu(self.model.state_dict())

    def predict(self, x) -> np.ndarray:
        """Model outputs for raw inputs ``x`` (N, *input shape), in the data's units: logits for
        classification, values for regression. Safe to call from another thread during training."""
        x = np.asarray(x, dtype=np.float32)
        expected = tuple(self.problem.dataset.input_shape)
        if x.shape[1:] != expected:
            raise TrainingError(f"predict expects inputs of shape (N, {', '.join(map(str, expected))}), "
                                f"got {x.shape}")
        with self._predict_lock:   # one caller at a time on the inference copy
            with self._lock:
                if self._inference_version != self._version:
                    self._inference_model.load_state_dict(self.model.state_dict())   # copies the values
                    self._inference_version = self._version
            outputs = _forward(self._inference_model, self.problem.model_inputs(x), self.device)
        return self.problem.outputs_in_data_units(outputs)

    def predict_classes(self, x) -> tuple[np.ndarray, np.ndarray]:
        """(predicted class index, its probability) per sample; classification only."""
        if self.problem.target != "labels":
            raise TrainingError("predict_classes needs a classification run")
        probs = self.problem.probabilities(self.predict(x))
        return np.argmax(probs, axis=1).astype(np.int64), probs.max(axis=1).astype(np.float32)
