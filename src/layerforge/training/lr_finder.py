"""The learning-rate finder: sweep the learning rate exponentially over a short run on a copy of the
model, and suggest the rate where the loss falls fastest before it blows up (fastai's finder, after
Leslie Smith's "Cyclical Learning Rates for Training Neural Networks", 2017).

The copy is the model a :class:`~layerforge.training.trainer.Trainer` builds from the same spec, data
and settings (a fresh initialisation with the settings' seed, or ``initial_state``'s values copied
in), so the finder sees exactly the data, loss, optimizer and device a run would. The caller's
weights are never touched. ``run()`` blocks; ``stop()`` may be called from any thread and takes
effect before the next step.
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Callable

import numpy as np

from layerforge import engine
from layerforge.data import ArrayDataset
from layerforge.graph import ModelSpec

from .build import make_loss
from .errors import TrainingError
from .memory import out_of_memory_message
from .settings import TrainingSettings
from .batching import tensor_on
from .trainer import Trainer

MIN_TRAIN_SAMPLES = 8   # fewer give a curve of a handful of batches repeated: noise, not a finding
MIN_STEPS = 5
BETA = 0.98             # the loss's exponential moving average, as fastai's finder
BLOW_UP = 4.0           # the sweep ends once the smoothed loss is this many times its minimum
SKIP_START = 10         # the first steps' average rests on a few batches: too noisy to read a slope from
SLOPE_WINDOW = 5        # points in the centred average the slope is read from
SLOPE_SPAN = 3          # the slope at a point runs across this many points either side (half a decade
                        # in a sweep of 100 steps over 8): a fall must last to count, a bump of noise does not
HARDLY = 0.0025         # a smoothed loss that falls less than this fraction did not fall at all
WEAK_FALL = 0.01        # a smoothed loss that falls less than this fraction makes the suggestion a weak hint


@dataclass(frozen=True)
class FinderProgress:
    """One step of the sweep (``step`` counts from 1 up to ``steps``)."""

    step: int
    steps: int
    lr: float
    loss: float
    smoothed: float


@dataclass
class FinderResult:
    """The swept learning rates with the loss at each (raw, and smoothed), the suggested rate (None
    when the curve shows no fall to read one from) and ``why``, one line for a person. ``stopped``:
    stop() ended the sweep before it was done."""

    lrs: list[float]
    losses: list[float]
    smoothed: list[float]
    suggestion: float | None
    why: str
    stopped: bool = False


class LrFinder:
    """See the module docstring. Raises :class:`TrainingError` for an invalid model, data that does not
    fit it or is too small for a sweep, bad settings or sweep bounds, before anything is trained."""

    def __init__(self, spec: ModelSpec, dataset: ArrayDataset, settings: TrainingSettings | None = None,
                 initial_state=None, steps: int = 100, start_lr: float = 1e-7, end_lr: float = 10.0):
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < MIN_STEPS:
            raise TrainingError(f"a learning-rate sweep needs at least {MIN_STEPS} steps, got {steps!r}")
        if not (_positive(start_lr) and _positive(end_lr) and start_lr < end_lr):
            raise TrainingError(f"the sweep must run from a smaller positive learning rate to a larger one, "
                                f"got {start_lr!r} to {end_lr!r}")
        settings = settings if settings is not None else TrainingSettings()
        # The sweep sets the rate itself at every step: no schedule, no snapshots, nothing kept.
        self.settings = settings.replace(schedule=None, snapshot_every=0, early_stopping_patience=None,
                                         keep_best=False)
        self.steps, self.start_lr, self.end_lr = steps, float(start_lr), float(end_lr)
        if len(dataset) < MIN_TRAIN_SAMPLES:
            raise TrainingError(_too_small(f"dataset '{dataset.name}' has only {_samples(len(dataset))}"))
        self._trainer = Trainer(spec, dataset, self.settings, initial_state=initial_state)
        train = self._trainer.problem.train
        if len(train) < MIN_TRAIN_SAMPLES:
            raise TrainingError(_too_small(
                f"dataset '{dataset.name}' leaves only {_samples(len(train))} of its {len(dataset)} to train on "
                f"after setting aside validation ({self.settings.val_fraction:g}) and test "
                f"({self.settings.test_fraction:g})"))
        self.device = self._trainer.device
        self._loss = make_loss(self.settings)
        self._stop = threading.Event()
        self._ran = False

    @property
    def learning_rates(self) -> np.ndarray:
        """The rate of each step: ``start_lr`` to ``end_lr``, equal ratios between neighbours."""
        return np.geomspace(self.start_lr, self.end_lr, self.steps)

    def stop(self) -> None:
        """End the sweep before its next step (from any thread); run() returns what was swept."""
        self._stop.set()

    def run(self, listener: Callable[[FinderProgress], None] | None = None) -> FinderResult:
        """Sweep, calling ``listener`` after each step; the result once the sweep ends, blows up or is stopped."""
        if self._ran:
            raise TrainingError("this LrFinder has already swept; create a new one to sweep again")
        self._ran = True
        try:
            with engine.backend.device_context(engine.device(self.device)):
                return self._sweep(listener)
        except Exception as error:  # noqa: BLE001  (only memory is translated; anything else goes up as it is)
            if isinstance(error, MemoryError) or engine.backend.is_device_out_of_memory(error):
                if not isinstance(error, MemoryError):
                    error = engine.backend.device_out_of_memory(error, "a learning-rate sweep step")
                raise TrainingError(out_of_memory_message(error, "during the learning-rate sweep",
                                                          self._trainer.memory)) from None
            raise

    def _sweep(self, listener) -> FinderResult:
        engine.manual_seed(self.settings.seed)
        lrs, losses, smoothed = [], [], []
        average, best, blew_up = 0.0, math.inf, ""
        batches = self._batches()
        for step, lr in enumerate(self.learning_rates, start=1):
            if self._stop.is_set():
                break
            loss = self._train_step(next(batches), float(lr))
            if not math.isfinite(loss):
                blew_up = f"the loss became {loss} at {lr:.2g}"
                break
            average = BETA * average + (1 - BETA) * loss
            smooth = average / (1 - BETA ** step)   # bias-corrected: the average starts at zero
            lrs.append(float(lr))
            losses.append(loss)
            smoothed.append(smooth)
            if listener is not None:
                listener(FinderProgress(step, self.steps, float(lr), loss, smooth))
            best = min(best, smooth)
            if smooth > BLOW_UP * best:
                blew_up = f"it blows up at {lr:.2g}"
                break
        suggestion, why = suggest(lrs, smoothed, blew_up)
        return FinderResult(lrs, losses, smoothed, suggestion, why, stopped=self._stop.is_set())

    def _batches(self):
        """Index arrays of training batches, shuffled anew each epoch, for as many epochs as asked."""
        n, size, seed = len(self._trainer.problem.train), self.settings.batch_size, self.settings.seed
        starts = list(range(0, n, size))
        if len(starts) > 1 and n - starts[-1] == 1:
            del starts[-1]   # a lone last sample joins the batch before it: batch norm needs two
        ends = starts[1:] + [n]
        epoch = 0
        while True:
            epoch += 1
            order = np.random.default_rng([seed, epoch]).permutation(n)
            for start, end in zip(starts, ends):
                yield order[start:end]

    def _train_step(self, index: np.ndarray, lr: float) -> float:
        """One optimizer step at ``lr`` on the batch ``index``; the batch's loss before the step."""
        trainer, train = self._trainer, self._trainer.problem.train
        model, optimizer = trainer.model, trainer.optimizer
        for group in optimizer.param_groups:
            group["lr"] = lr
        model.train()
        out = model(self._tensor(train.x[index]))
        loss = self._loss(out, self._tensor(train.target[index]))
        value = float(loss.item())
        if math.isfinite(value):
            optimizer.zero_grad()
            loss.backward()
            if self.settings.grad_clip_norm is not None:
                engine.nn.utils.clip_grad_norm_(model.parameters(), self.settings.grad_clip_norm)
            optimizer.step()
        return value

    def _tensor(self, array: np.ndarray):
        return tensor_on(array, self.device)


def suggest(lrs, smoothed, blew_up: str = "") -> tuple[float | None, str]:
    """(the rate at the steepest fall of the smoothed loss against log lr before its minimum, why).

    The slope is read from a centred average of the smoothed curve over SLOPE_WINDOW points, across
    SLOPE_SPAN points either side, so one lucky batch cannot make a cliff. The first SKIP_START points (fewer in a short sweep) are left
    out, as fastai leaves out the first tenth: their average rests on a few batches, and its noise
    made cliffs at rates far too small to train with. ``blew_up`` says where the sweep ended early.
    """
    lrs, smoothed = np.asarray(lrs, dtype=np.float64), np.asarray(smoothed, dtype=np.float64)
    end = f", before {blew_up}" if blew_up else ""
    if len(lrs) < 2 * MIN_STEPS:
        return None, (f"too few steps were swept ({len(lrs)}) to read a slope from{end}; "
                      f"let the sweep run further")
    skip = min(SKIP_START, len(lrs) // 4)
    curve = _centred_average(smoothed, SLOPE_WINDOW)
    lowest = int(np.argmin(curve))
    if lowest <= skip:
        advice = "sweep from a smaller learning rate" if blew_up else "sweep over a wider range"
        return None, f"the loss never fell: it is lowest at the first rates swept ({lrs[0]:.2g}){end}; {advice}"
    slope = _slope(curve, np.log10(lrs), SLOPE_SPAN)
    steepest = skip + int(np.argmin(slope[skip:lowest + 1]))
    if slope[steepest] >= 0:
        return None, f"the loss did not fall anywhere before its lowest point{end}"
    suggestion = float(lrs[steepest])
    where = f"before {blew_up}" if blew_up else f"before its lowest point at {lrs[lowest]:.2g}"
    why = f"steepest fall of the loss, at {suggestion:.2g}, {where}"
    fall = (curve[skip] - curve[lowest]) / max(abs(curve[skip]), 1e-12)
    if fall < HARDLY:
        return None, (f"the loss hardly changed in the whole sweep (it fell by {fall:.2%}){end}: no rate stands "
                      f"out; check that the model can learn from this data")
    if fall < WEAK_FALL:
        why += f"; the loss fell by only {fall:.1%} in the whole sweep, so take this as a weak hint"
    return suggestion, why


def _slope(values: np.ndarray, x: np.ndarray, span: int) -> np.ndarray:
    """d values / d x at each point, across the ``span`` points either side (fewer at the ends)."""
    index = np.arange(len(values))
    low, high = np.maximum(index - span, 0), np.minimum(index + span, len(values) - 1)
    return (values[high] - values[low]) / (x[high] - x[low])


def _centred_average(values: np.ndarray, window: int) -> np.ndarray:
    """Each point the mean of up to ``window`` points around it (fewer at the ends)."""
    half = window // 2
    sums = np.concatenate([[0.0], np.cumsum(values)])
    index = np.arange(len(values))
    low, high = np.maximum(index - half, 0), np.minimum(index + half + 1, len(values))
    return (sums[high] - sums[low]) / (high - low)


def _too_small(what: str) -> str:
    return (f"too little data for a learning-rate sweep: {what}, and the sweep needs at least "
            f"{MIN_TRAIN_SAMPLES} to train on; use more data, or a smaller validation fraction")


def _samples(count: int) -> str:
    return f"{count} sample{'s' if count != 1 else ''}"


def _positive(value) -> bool:
    return (not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
            and value > 0)
