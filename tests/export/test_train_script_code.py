"""training_code: the part of train.py the Code panel shows is train.py's own text, for every choice."""
import pytest

from layerforge.export import ExportError
from layerforge.export.train_script import SCHEDULE_STEPS, TrainingHint, train_source, training_code

SCHEDULES = [(None, {}), ("StepLR", {"step_size": 3, "gamma": 0.5}), ("MultiStepLR", {"milestones": [2, 4],
                                                                                          "gamma": 0.1}),
             ("ExponentialLR", {"gamma": 0.9}), ("CosineAnnealingLR", {"T_max": None, "eta_min": 0.0}),
             ("OneCycleLR", {"max_lr": None, "pct_start": 0.3, "anneal_strategy": "cos", "div_factor": 25.0,
                             "final_div_factor": 1e4}),
             ("ReduceLROnPlateau", {"factor": 0.1, "patience": 2, "threshold": 1e-4, "min_lr": 0.0})]


@pytest.mark.parametrize("schedule,kwargs", SCHEDULES, ids=[str(s[0]) for s in SCHEDULES])
@pytest.mark.parametrize("clip", [None, 0.5])
def test_training_code_is_the_text_of_train_py(schedule, kwargs, clip):
    hint = TrainingHint(loss="SmoothL1Loss", loss_kwargs={"beta": 0.5}, optimizer="SGD",
                        optimizer_kwargs={"momentum": 0.9, "nesterov": True}, schedule=schedule,
                        schedule_kwargs=kwargs, grad_clip_norm=clip, target="values")
    code = training_code(hint)
    source = train_source(hint)
    assert code in source  # one contiguous piece: what the panel shows is what runs
    compile(code, "training_code", "exec")
    assert "def make_loss():\n    return nn.SmoothL1Loss(beta=0.5)\n" in code
    assert "torch.optim.SGD(parameters, lr=lr, momentum=0.9, nesterov=True)" in code
    assert "def train_epoch(run, epoch):" in code and "def train(run):" in code
    assert ("clip_grad_norm_(run.model.parameters(), 0.5)" in code) == (clip is not None)
    step = SCHEDULE_STEPS.get(schedule)
    batch_loop, epoch_loop = code.split("def train(run):")
    assert ("run.scheduler.step()" in batch_loop) == (step == "batch")
    assert ("run.scheduler.step()" in epoch_loop) == (step == "epoch")
    assert ("run.scheduler.step(monitored)" in epoch_loop) == (step == "metric")
    if schedule is None:
        assert "return None  # no schedule" in code
    else:
        assert f"torch.optim.lr_scheduler.{schedule}(" in code


def test_run_dependent_schedule_arguments_follow_the_run():
    """T_max 0 in the app means the whole run, max_lr 0 ten times the rate: train.py computes them."""
    cosine = training_code(TrainingHint(schedule="CosineAnnealingLR", schedule_kwargs={"T_max": None,
                                                                                       "eta_min": 0.001}))
    assert "CosineAnnealingLR(optimizer, T_max=epochs, eta_min=0.001)" in cosine
    one_cycle = training_code(TrainingHint(schedule="OneCycleLR", schedule_kwargs={"max_lr": None}))
    assert "OneCycleLR(optimizer, max_lr=10 * lr, total_steps=epochs * steps_per_epoch)" in one_cycle
    plateau = training_code(TrainingHint(schedule="ReduceLROnPlateau", schedule_kwargs={"factor": 0.5}))
    assert 'ReduceLROnPlateau(optimizer, mode="min", factor=0.5)' in plateau


def test_a_string_that_looks_like_a_marker_stays_a_string():
    hint = TrainingHint(loss="MSELoss", loss_kwargs={"reduction": "@OPTIMIZER@'"}, target="values",
                        optimizer_kwargs={"foreach": "'\"@LOSS@"})
    code = training_code(hint)
    assert "nn.MSELoss(reduction=\"@OPTIMIZER@'\")" in code
    compile(train_source(hint), "train.py", "exec")


@pytest.mark.parametrize("hint,message", [
    (TrainingHint(schedule="LambdaLR"), "the learning-rate schedule 'LambdaLR' is not one train.py can build"),
    (TrainingHint(schedule="StepLR", schedule_kwargs={"step_size)\nimport os\n#": 1}), "schedule argument name"),
    (TrainingHint(grad_clip_norm=float("inf")), "gradient clipping norm inf is not a finite number"),
    (TrainingHint(patience=0), "early-stopping patience must be a whole number of at least 1"),
    (TrainingHint(target="pixels"), "target 'pixels' is not one of"),
])
def test_settings_train_py_cannot_hold_are_refused(hint, message):
    with pytest.raises(ExportError, match=message):
        train_source(hint)
