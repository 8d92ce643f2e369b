"""Predictions from a saved project: its weights, its standardisation, its class names."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from layerforge import engine
from layerforge.data import DataError, Normalization
from layerforge.graph import GraphError, compile_spec

from .build import valid_shapes
from .errors import TrainingError
from .metrics import class_probabilities
from .project import Project

BATCH = 512


@dataclass
class Predictions:
    """``outputs``: raw model outputs (regression: in the targets' units). Classification adds
    ``labels`` (class index), ``names`` (class name) and ``probabilities`` (N, C)."""

    outputs: np.ndarray
    labels: np.ndarray | None = None
    names: list | None = None
    probabilities: np.ndarray | None = None
    class_names: list | None = None

    def rows(self) -> tuple[list[str], list[list]]:
        """A header and rows for a CSV or a printed table."""
        if self.labels is not None:
            header = ["prediction", "confidence"] + [f"p({name})" for name in self.class_names]
            rows = [[name, f"{probs.max():.4f}"] + [f"{p:.4f}" for p in probs]
                    for name, probs in zip(self.names, self.probabilities)]
            return header, rows
        flat = self.outputs.reshape(len(self.outputs), -1)
        header = ["prediction"] if flat.shape[1] == 1 else [f"output_{i}" for i in range(flat.shape[1])]
        return header, [[f"{v:.6g}" for v in row] for row in flat]


def _non_finite_entries(state: dict) -> str:
    """"'fc1.weight' (2 NaN of 64 values), ..." for the entries holding NaN or inf; "" when all are finite."""
    problems = []
    for key, value in state.items():
        array = value.numpy() if hasattr(value, "numpy") else np.asarray(value)
        if array.dtype.kind not in "fc" or np.isfinite(array).all():
            continue
        counts = ((int(np.isnan(array).sum()), "NaN"), (int(np.isinf(array).sum()), "inf"))
        problems.append(f"'{key}' ({' and '.join(f'{n} {what}' for n, what in counts if n)} of {array.size} values)")
    return ", ".join(problems[:5]) + (f" and {len(problems) - 5} more" if len(problems) > 5 else "")


def _require_finite_rows(array: np.ndarray, what: str, advice: str) -> None:
    """TrainingError counting the NaN/inf values in ``array`` and naming the first row that holds one."""
    if array.dtype.kind not in "fc" or array.size == 0:
        return
    bad = ~np.isfinite(array)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise TrainingError(f"{what} {int(bad.sum())} NaN/inf value(s), the first at sample index {row}{advice}")


class Predictor:
    """A trained project ready to predict on raw inputs (the data's own units)."""

    def __init__(self, project: Project, weights: dict | None):
        if weights is None:
            raise TrainingError(f"project '{project.name}' has no trained weights: train it first "
                                f"(layerforge train PROJECT)")
        report = valid_shapes(project.spec)
        try:
            self.model = compile_spec(project.spec)
        except GraphError as error:
            raise TrainingError(f"the model is not valid: {error}") from None
        self.model.load_state_dict(weights)
        self.model.eval()
        broken = _non_finite_entries(self.model.state_dict())
        if broken:
            raise TrainingError(f"the trained weights are not finite numbers: {broken}. The training diverged; "
                                f"train again with a lower learning rate (or from the last good weights)")
        self.input_shape = tuple(report.input_shape)
        input_node = project.spec.nodes[report.input_id]
        self.integer_inputs = input_node.params.get("dtype") == "int64"   # token indices for an Embedding
        try:
            self.normalization = Normalization.from_dict(project.normalization)
        except DataError as error:
            raise TrainingError(f"the stored normalisation is invalid: {error}") from None
        info = project.data_info or {}
        self.target = info.get("target") or ("labels" if project.settings.loss in ("cross_entropy", "nll")
                                             else "values")
        self.class_names = list(info.get("class_names") or [])
        self.loss = project.settings.loss

    def _shaped(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        if x.ndim >= 1 and x.shape[1:] != self.input_shape:
            size = int(np.prod(self.input_shape))
            if x.ndim == 2 and x.shape[1] == size:   # flat rows from a CSV
                return x.reshape((len(x),) + self.input_shape)
            raise TrainingError(f"the model expects samples of shape {self.input_shape} ({size} values each), "
                                f"but the inputs have shape {x.shape[1:]}")
        return x

    def outputs(self, x) -> np.ndarray:
        x = self._shaped(x)
        _require_finite_rows(x, "the inputs hold", "; remove or fill them")
        if self.integer_inputs:
            x = np.rint(x).astype(np.int64)
        elif self.normalization.inputs is not None:
            x = self.normalization.transform_inputs(x)
        chunks = []
        # An overflow is reported below as one message, not as numpy's warning on stderr.
        with engine.no_grad(), np.errstate(over="ignore", invalid="ignore"):
            for start in range(0, len(x), BATCH):
                chunks.append(self.model(engine.from_numpy(np.ascontiguousarray(x[start:start + BATCH])))
                              .detach().cpu().numpy())
        outputs = np.concatenate(chunks) if chunks else np.zeros((0,), np.float32)
        if self.target == "values" and self.normalization.targets is not None:
            outputs = self.normalization.inverse_targets(outputs)
        _require_finite_rows(outputs, "the model's outputs hold",
                             " (an overflow: are the inputs far outside the range the model was trained on?)")
        return outputs

    def predict(self, x) -> Predictions:
        outputs = self.outputs(x)
        if self.target != "labels":
            return Predictions(outputs)
        probs = class_probabilities(outputs, self.loss)
        labels = np.argmax(probs, axis=1).astype(np.int64)
        names = self.class_names or [str(i) for i in range(probs.shape[1])]
        return Predictions(outputs, labels, [names[i] for i in labels], probs, names)
