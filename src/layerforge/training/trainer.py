"""The headless training loop: a spec, a dataset and settings in; events and a trained model out.

``Trainer.run()`` blocks in the calling thread (the GUI calls it from a worker thread);
``pause()``, ``resume()`` and ``stop()`` may be called from any thread and take effect before the
next batch. ``predict()`` may also be called from another thread while training runs: it uses its
own copy of the model, refreshed from the trained weights under a lock that the training thread
holds for one batch at a time.
"""
from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from layerforge import engine
from layerforge.data import ArrayDataset
from layerforge.data.augment import augmenter_for
from layerforge.graph import GraphError, ModelSpec, compile_spec

from .batching import EVAL_BATCH, batch_bounds, device_outputs, snapshot_rows, tensor_on, to_host
from .batching import forward as _forward
from .build import Schedule, make_loss, make_optimizer, valid_shapes
from .cpu_share import step_flops
from .device import choose_device
from .errors import TrainingError
from .events import (BatchEnd, EpochEnd, Event, PredictionSnapshot, RunFailed, RunFinished, RunStarted,
                     RunStopped, SettingsApplied)
from .health import HealthMonitor
from .memory import choose_fitting_device, largest_output, out_of_memory_message
from .problem import Problem, Split
from .settings import TrainingSettings
from .snapshots import SnapshotMaker
from .steering import ResumeState
from .trainer_results import TrainerResults
from .trainer_steering import TrainerSteering, _clone

log = logging.getLogger(__name__)


EXPLODED_FACTOR = 1000  # a loss this many times the untrained model's means the run is diverging


@dataclass
class RunResult:
    """How a run ended. ``status``: "completed", "early_stopping", "stopped" or "failed"."""

    status: str
    reason: str
    epochs_run: int
    best_epoch: int
    history: dict
    final: dict = field(default_factory=dict)
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("completed", "early_stopping")


class Trainer(TrainerResults, TrainerSteering):
    """Trains ``spec`` on ``dataset`` with ``settings``; see the module docstring.

    Everything that can be wrong with the inputs (invalid graph, data that does not fit the model,
    bad settings, a missing GPU) raises :class:`TrainingError` here, before training starts.
    ``initial_state`` (a state dict) continues training from those weights; ``resume`` (a
    :class:`ResumeState`) continues a run exactly: its weights, optimizer and schedule state, step and
    epoch count and curves. Continued, the run goes on to ``settings.epochs`` if it had not reached
    them, else for ``settings.epochs`` more. ``change_settings`` steers the run while it trains.
    ``health=False`` leaves out the layers' health reports (LayerHealth events, see ``health``).
    """

    def __init__(self, spec: ModelSpec, dataset: ArrayDataset, settings: TrainingSettings | None = None,
                 listener: Callable[[Event], None] | None = None, initial_state=None,
                 resume: ResumeState | None = None, health: bool = True, defer: bool = False):
        self.settings = settings if settings is not None else TrainingSettings()
        self.listener = listener
        report = valid_shapes(spec)
        self.spec = spec.copy()
        self.problem = Problem(self.spec, report, dataset, self.settings, prepare=False)
        n_train = self.problem.sizes[0]
        self.param_count = report.total_params
        self._snapshot_rows = snapshot_rows(largest_output(report))
        self.device, self.device_reason = choose_device(self.settings.device, self.param_count,
                                                        self.settings.batch_size)
        # Refuse a model that cannot fit before numpy or cupy is asked for its weights.
        self.device, self.device_reason, self.memory = choose_fitting_device(
            self.spec, report, self.settings, n_train, self.device, self.device_reason)
        self._lock = threading.RLock()         # held by the training thread for one batch at a time
        self._batch_bounds = batch_bounds(n_train, self.settings.batch_size)
        self._bounds_batch_size = self.settings.batch_size
        self.steps_per_epoch = len(self._batch_bounds) - 1
        self.history: dict[str, list] = {"epoch": [], "lr": [], "elapsed_s": [], "step_loss": [], "step_x": []}
        self.epoch = 0
        self.step = 0
        self.best_epoch = 0
        self.start_epoch = 0                   # the epochs a continued run had done before
        self.changes: list[SettingsApplied] = []   # the settings changed while it trained
        self._pending = None                   # settings waiting for the next batch (change_settings)
        self._pending_lock = threading.Lock()
        self._batch_change = None              # ("batch_size", old, new) set mid-epoch: marked at the next
        self._resume_state: ResumeState | None = None
        self._resume_parts = None              # the same, still on the device (see resume_state)
        if resume is not None:
            self._resume_counts(resume)
        self.total_epochs = self._total_epochs(self.settings)
        self._best_state: OrderedDict | None = None
        self._predict_lock = threading.Lock()
        self._running = threading.Event()      # cleared while paused
        self._running.set()
        self._stop = threading.Event()
        self._version = 0                      # bumped whenever the weights change
        self._inference_version = -1
        self._ran = False
        self._phase = "before training"        # what the run is doing, for an out-of-memory report
        self._batch = 0                        # 1-based batch within the epoch while one trains
        self._health_wanted = health
        self._start = (resume, initial_state)   # until prepare() has built the model from them
        self.model = None
        if not defer:
            self.prepare()

    @property
    def prepared(self) -> bool:
        """Whether the data's arrays, the model and the optimizer are built (see ``prepare``)."""
        return self._start is None

    def prepare(self) -> None:
        """Build what the run trains with: the split's arrays and standardisation, the model, its
        optimizer and schedule (and the state a continued run carries on). The constructor calls it
        unless ``defer=True``; then ``run()`` does, in the run's own thread, so that a window stays
        responsive while 60,000 images are split and standardised. TrainingError says what failed."""
        if self._start is None:
            return
        resume, initial_state = self._start
        with self._lock:   # between_batches() work on another thread waits for the model
            self.problem.prepare()
            self._augment = augmenter_for(self.problem.dataset, self.problem.model_inputs, self.settings.seed)
            try:
                self._build(resume.weights if resume is not None else initial_state)
            except MemoryError as error:   # the estimate is a guide; the allocator has the last word
                raise TrainingError(out_of_memory_message(error, "while building the model", self.memory)) from None
            self.health = HealthMonitor(self.model, self.spec, self.problem, self.device) if self._health_wanted else None
            self.schedule = Schedule(self.optimizer, self.settings, self.steps_per_epoch)
            self._loss = make_loss(self.settings)
            self._snapshots = SnapshotMaker(self.problem, self.settings.seed) if self.settings.snapshot_every else None
            if resume is not None:
                self._resume_from(resume)
            self._start = None

    def _build(self, initial_state) -> None:
        """The model, its copy for predict(), the optimizer and the first rollback point."""
        engine.manual_seed(self.settings.seed)
        try:
            self.model = compile_spec(self.spec).to(self.device)
            self._inference_model = compile_spec(self.spec).to(self.device).eval()
        except GraphError as error:
            raise TrainingError(f"the model cannot be built: {error}") from None
        if initial_state is not None:   # continue from trained weights instead of a fresh initialisation
            try:
                self.model.load_state_dict(initial_state)
            except (RuntimeError, TypeError, ValueError) as error:
                details = " ".join(str(error).split())   # one line: the engine lists problems on several
                raise TrainingError(f"the weights to continue from do not fit the model: {details}") from None
        self.optimizer = make_optimizer(self.model.parameters(), self.settings)
        self._last_good = self._clone_state()  # weights at the end of the last finite epoch

    # -- control, from any thread ----------------------------------------------------------------

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def stop(self) -> None:
        self._stop.set()
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    @contextmanager
    def between_batches(self):
        """Hold the run between two of its batches and give the engine's CPU random stream back as it
        was: for work on another thread that draws random numbers while the run trains (building a
        model, a pass through dropout), so that the run ends exactly as it would have without it."""
        with self._lock:
            state = engine.random.get_rng_state()
            try:
                yield
            finally:
                engine.random.set_rng_state(state)

    # -- the run ---------------------------------------------------------------------------------

    def run(self) -> RunResult:
        """Train until the epochs are done, early stopping, stop() or a failure; never raises for
        a failure during training (it is reported as RunFailed and in the result)."""
        if self._ran:
            raise TrainingError("this Trainer has already run; create a new Trainer to train again")
        self._ran = True
        try:
            # The run's GPU is the current one in this thread (torch.cuda.set_device), so that work
            # outside the engine's ops (data, losses, metrics) lands there too: cupy puts everything
            # on the current GPU. numpy's floating-point warnings are off for the run, in this thread
            # (as PyTorch gives none): a diverging run is reported by its own checks, with the epoch,
            # the step, the layer and what to change, where numpy's named a kernel's source line.
            with engine.backend.device_context(engine.device(self.device)), np.errstate(all="ignore"):
                if not self.prepared:
                    self._phase = "while preparing the data and the model"
                    try:
                        self.prepare()
                    except TrainingError as error:
                        self._emit(RunFailed(str(error), 0, 0, "error"))
                        return self._result("failed", str(error), error=error)
                return self._run()
        except Exception as error:  # an engine or memory failure mid-run: report it, keep good weights
            log.exception("training failed")
            return self._failed(error)
        finally:   # the step-to-step CPU buffers are not needed once the run is over
            engine.cpu.empty_cache()

    def _failed(self, error: Exception) -> RunResult:
        if engine.backend.is_device_out_of_memory(error):  # e.g. raised in backward: say how much
            error = engine.backend.device_out_of_memory(error, "a training step")
        restored = "no weights were built yet"
        if self.prepared:
            try:
                self._restore(self._last_good)
                restored = f"weights restored to {self._last_good_label()}"
            except Exception:  # memory may still be short; the report must go out all the same  # noqa: BLE001
                log.exception("restoring the last good weights failed")
                restored = "the weights could not be restored and are not to be trusted"
        if isinstance(error, MemoryError):
            reason = out_of_memory_message(error, self._phase_text(), self.memory) + f"; {restored}"
            kind = "out_of_memory"
        else:
            reason = f"an error at epoch {self.epoch}, step {self.step}: {type(error).__name__}: {error}; {restored}"
            kind = "error"
        self._emit(RunFailed(reason, self.epoch, self.step, kind))
        return self._result("failed", reason, error=error)

    def _phase_text(self) -> str:
        if self._phase == "train":
            return (f"during epoch {self.epoch}, batch {self._batch} of {self.steps_per_epoch} "
                    f"(batch size {self.settings.batch_size})")
        return self._phase

    def _run(self) -> RunResult:
        s, p = self.settings, self.problem
        engine.manual_seed(s.seed)
        self._emit(RunStarted(self.total_epochs, self.steps_per_epoch, self.device, self.device_reason, len(p.train),
                              len(p.val), len(p.test), p.task, list(p.class_names), self.param_count,
                              step_flops(self.spec, s.batch_size)))
        if self._snapshots is not None:
            self._phase = "while predicting with the untrained model for the first snapshot"
            self._emit(self._snapshot(0))
        self._clock_start, self._paused_s = time.perf_counter(), 0.0
        best_loss, since_best, status = math.inf, 0, "completed"
        # The untrained model's loss: a run whose loss climbs far above it is diverging even where the
        # numbers stay finite (saturated activations keep a cross-entropy finite at any learning rate).
        self._phase = "while evaluating the untrained model"
        initial_loss = self._evaluate(p.val if len(p.val) else p.train)[0]["loss"]
        epoch = self.start_epoch
        while epoch < self.total_epochs:
            epoch += 1
            self.epoch = epoch
            self._phase = "train"
            outcome = self._train_epoch(epoch)
            s = self.settings   # steered while the epoch trained
            if isinstance(outcome, RunResult):
                return outcome
            train_metrics, train_outputs, lr = outcome
            self._phase = f"while validating epoch {epoch}"
            val_metrics, val_outputs = self._evaluate(p.val) if len(p.val) else ({}, None)
            monitored = val_metrics.get("loss", train_metrics["loss"])
            if not math.isfinite(monitored):
                return self._diverged(monitored, "validation loss")
            if monitored > EXPLODED_FACTOR * max(initial_loss, 1e-12):
                return self._diverged(monitored, "validation loss" if val_metrics else "loss",
                                      f" ({monitored / max(initial_loss, 1e-12):.3g} times the untrained "
                                      f"model's {initial_loss:.4g})")
            if monitored < best_loss:
                best_loss, since_best, self.best_epoch = monitored, 0, epoch
                if s.keep_best:
                    self._best_state = self._clone_state()
            else:
                since_best += 1
            self._last_good = self._clone_state()
            confusion = (p.confusion(p.val, val_outputs) if val_outputs is not None
                         else p.confusion(p.train, train_outputs))
            self.schedule.after_epoch(monitored)
            elapsed = self._elapsed()
            self._record(epoch, lr, elapsed, train_metrics, val_metrics)
            done = epoch - self.start_epoch
            self._apply_pending()   # epochs changed during the epoch: its end reports the new total
            self._emit(EpochEnd(epoch, train_metrics, val_metrics, lr, elapsed,
                                elapsed / done * (self.total_epochs - epoch), confusion, self.total_epochs,
                                self.best_epoch))
            if self._snapshots is not None and (epoch % s.snapshot_every == 0 or epoch == self.total_epochs):
                self._phase = f"while predicting for the snapshot of epoch {epoch}"
                self._emit(self._snapshot(epoch))
            if s.early_stopping_patience is not None and since_best >= s.early_stopping_patience:
                status = "early_stopping"
                break
        self._capture_resume()
        self._keep_best()
        self._phase = "while computing the final metrics"
        final = self._final_metrics()
        reason = ("completed" if status == "completed" else
                  f"early stopping: the validation loss has not improved for {s.early_stopping_patience} epochs")
        self._emit(RunFinished(status, self.epoch, self.best_epoch, final))
        return self._result(status, reason, final)

    def _train_epoch(self, epoch: int):
        """One pass over the training split; (metrics, outputs in sample order, lr) or a RunResult."""
        self._batch = 0
        self._apply_pending()
        s, p = self.settings, self.problem
        if s.batch_size != self._bounds_batch_size:   # a batch size set during the last epoch
            self._batch_bounds = batch_bounds(len(p.train), s.batch_size)
            self._bounds_batch_size = s.batch_size
            self.steps_per_epoch = len(self._batch_bounds) - 1
        if self._batch_change is not None:
            name, before, after = self._batch_change
            self._batch_change = None
            if before != after:
                self._mark([(name, before, after)])
        order = np.random.default_rng([s.seed, epoch]).permutation(len(p.train))
        outputs = [None] * self.steps_per_epoch
        loss_sum, lr = 0.0, self._lr()
        self.model.train()
        for batch in range(self.steps_per_epoch):
            if self._wait_while_paused():
                return self._stopped()
            self._apply_pending()
            self._batch = batch + 1
            index = order[self._batch_bounds[batch]:self._batch_bounds[batch + 1]]
            lr = self._lr()
            probe = None if self.health is None else self.health.probe(
                self.step + 1, self._last_batch_of_run(batch), self.settings.view_features)
            with self._lock:
                inputs = p.train.x[index] if self._augment is None else self._augment(p.train.x[index], epoch, batch)
                out = self.model(tensor_on(inputs, self.device))
                loss = self._loss(out, tensor_on(p.train.target[index], self.device))
                value = float(loss.item())
                if not math.isfinite(value):
                    self.step += 1
                    return self._diverged(value, "loss")
                self.optimizer.zero_grad()
                loss.backward()
                if probe is not None:
                    probe.after_backward()
                if s.grad_clip_norm is not None:
                    engine.nn.utils.clip_grad_norm_(self.model.parameters(), s.grad_clip_norm)
                self.optimizer.step()
                self._version += 1
            self.step += 1
            outputs[batch] = out.detach()  # stays on the device: one copy to the host per epoch
            loss_sum += value * len(index)
            self.schedule.after_batch()
            x = epoch - 1 + (batch + 1) / self.steps_per_epoch
            self.history["step_loss"].append(value)
            self.history["step_x"].append(x)
            self._emit(BatchEnd(epoch, self.step, value, lr, x))
            health = probe.report(epoch, self.step) if probe is not None else None
            if health is not None:   # None: measuring failed (logged), the run goes on
                self._emit(health)
        outputs = to_host(outputs)
        in_order = np.empty((len(p.train),) + outputs.shape[1:], dtype=outputs.dtype)
        in_order[order] = outputs
        return p.metrics(p.train, in_order, loss_sum / len(p.train)), in_order, lr

    def _last_batch_of_run(self, batch: int) -> bool:
        return self.epoch == self.total_epochs and batch + 1 == self.steps_per_epoch

    def _evaluate(self, split: Split) -> tuple[dict, np.ndarray]:
        """Metrics and outputs of the current weights on ``split``, in eval mode."""
        self.model.eval()
        try:  # outputs and losses stay on the device until the split is done
            chunks = device_outputs(self.model, split.x, self.device)
            with engine.no_grad():
                losses = [self._loss(out, tensor_on(split.target[i * EVAL_BATCH:(i + 1) * EVAL_BATCH], self.device))
                          for i, out in enumerate(chunks)]
        finally:
            self.model.train()
        total = sum(float(v) * len(out) for v, out in zip(to_host(losses), chunks)) if losses else 0.0
        outputs = to_host(chunks, self.model)
        return self.problem.metrics(split, outputs, total / max(len(split), 1)), outputs

    def _final_metrics(self) -> dict:
        p = self.problem
        return {name: self._evaluate(split)[0] for name, split in (("train", p.train), ("val", p.val),
                                                                   ("test", p.test)) if len(split)}

    def _snapshot(self, epoch: int) -> PredictionSnapshot:
        self.model.eval()
        try:
            predict = lambda x: _forward(self.model, x, self.device, self._snapshot_rows)  # noqa: E731
            return self._snapshots.make(epoch, predict, self.settings.view_features)
        finally:
            self.model.train()

    # -- pausing, stopping, failing --------------------------------------------------------------

    def _wait_while_paused(self) -> bool:
        """Block while paused; True when the run must stop."""
        if not self._running.is_set():
            began = time.perf_counter()
            self._running.wait()
            self._paused_s += time.perf_counter() - began
        return self._stop.is_set()

    def _stopped(self) -> RunResult:
        self._capture_resume()
        self._keep_best()
        self._emit(RunStopped(self.epoch, self.step))
        return self._result("stopped", f"stopped at epoch {self.epoch}, step {self.step}")

    def _diverged(self, value: float, what: str, detail: str = "") -> RunResult:
        self._restore(self._last_good)
        reason = (f"the run diverged: {what} became {value:.4g}{detail} at epoch {self.epoch}, step {self.step}: the learning rate "
                  f"{self._lr():g} is probably too high; weights restored to {self._last_good_label()}")
        self._emit(RunFailed(reason, self.epoch, self.step, "diverged"))
        return self._result("failed", reason)

    def _last_good_label(self) -> str:
        completed = len(self.history["epoch"])
        return f"the last good epoch ({completed})" if completed else "their initial values"

    def _keep_best(self) -> None:
        if self.settings.keep_best and self._best_state is not None:
            self._restore(self._best_state)

    # -- helpers ---------------------------------------------------------------------------------

    def _emit(self, event: Event) -> None:
        if self.listener is not None:
            self.listener(event)

    def _lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def _elapsed(self) -> float:
        return time.perf_counter() - self._clock_start - self._paused_s

    def _clone_state(self) -> OrderedDict:
        with self._lock:
            return _clone(self.model.state_dict())

    def _restore(self, state: OrderedDict) -> None:
        with self._lock:
            self.model.load_state_dict(state)   # copies the values; ``state`` stays as it was
            self._version += 1

    def _record(self, epoch: int, lr: float, elapsed: float, train: dict, val: dict) -> None:
        history = self.history
        history["epoch"].append(epoch)
        history["lr"].append(lr)
        history["elapsed_s"].append(elapsed)
        for prefix, metrics in (("train", train), ("val", val)):
            for name, value in metrics.items():
                history.setdefault(f"{prefix}_{name}", []).append(value)

    def _result(self, status: str, reason: str, final: dict | None = None,
                error: BaseException | None = None) -> RunResult:
        return RunResult(status, reason, len(self.history["epoch"]), self.best_epoch, self.history,
                         final or {}, error)
