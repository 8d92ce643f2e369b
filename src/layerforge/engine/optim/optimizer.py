"""The Optimizer base: parameter groups, per-parameter state, and PyTorch-format state dicts.

Subclasses implement ``_update(group, params)``, which changes the raw arrays of the parameters in
place. Working on raw arrays (numpy or cupy) keeps the step free of graph bookkeeping and of Tensor
wrappers: a step is a handful of array operations per parameter.
"""
from __future__ import annotations

import functools
import warnings
from collections import defaultdict
from types import SimpleNamespace

import numpy as np

from .. import backend
from ..autograd import enable_grad
from ..grad_mode import _mode
from ..tensor import Tensor


class _RequiredParameter:
    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


# How PyTorch names an argument in its "Invalid ...: value" messages; any other is "<name> value".
_ARGUMENT_WORDS = {"lr": "learning rate", "eps": "epsilon value"}


def check_non_negative(**arguments) -> None:
    """PyTorch's argument checks, in the order given: ``Invalid learning rate: -1`` and friends."""
    for name, value in arguments.items():
        if not 0.0 <= value:
            raise ValueError(f"Invalid {_ARGUMENT_WORDS.get(name, name + ' value')}: {value}")


def directed_gradient(grad, weight, maximize: bool, weight_decay: float):
    """The gradient an update follows: negated to maximize, plus L2 decay ``weight_decay * weight``.

    A new array wherever either applies, so the parameter's own ``.grad`` is never changed.
    """
    if maximize:
        grad = -grad
    if weight_decay != 0:
        grad = grad + weight_decay * weight
    return grad


def zero_state_like(array) -> Tensor:
    """A zero state tensor (a moment, an accumulator) shaped, typed and placed like ``array``."""
    return Tensor._wrap(zeros_like_array(array))


def zeros_like_array(array):
    """A zero array shaped, typed and placed like ``array`` (on its own GPU, not the current one)."""
    if type(array) is np.ndarray:
        return np.zeros_like(array)
    with array.device:
        return backend.module_of(array).zeros_like(array)


def full_like_array(array, value):
    if type(array) is np.ndarray:
        return np.full_like(array, value)
    with array.device:
        return backend.module_of(array).full_like(array, value)


def array_module(array):
    return np if type(array) is np.ndarray else backend.module_of(array)


def new_step_counter() -> Tensor:
    """PyTorch keeps ``state['step']`` as a float32 scalar tensor on the CPU; so do we."""
    return Tensor._wrap(np.zeros((), dtype=np.float32))


def advance_step(state: dict) -> float:
    """Add one to ``state['step']`` and return the new count as a Python float."""
    counter = state["step"]
    if isinstance(counter, Tensor):
        data = counter._data
        if type(data) is np.ndarray and not data.ndim:
            # the usual float32 0-d counter: a scalar store (0.07 us) instead of an in-place ufunc
            # (0.8 us); the float64 sum rounds to the counter's dtype as the in-place add does
            data[()] = float(data) + 1.0
        else:
            counter._data += 1
        return float(counter._data)
    state["step"] = counter + 1
    return float(counter + 1)


class Optimizer:
    """Base class of all optimizers, with PyTorch's behaviour and state-dict format."""

    def __init__(self, params, defaults: dict):
        self.defaults = dict(defaults)
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict] = []
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors "
                            f"or dicts, but got {type(params).__name__}")
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    # ------------------------------------------------------------------ groups
    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own options (missing options come from ``defaults``)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        group = dict(param_group)
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the "
                            "ordering of tensors in sets will change between runs. Please use a list "
                            "instead.")
        else:
            params = list(params)
        if params and isinstance(params[0], tuple):  # named_parameters()
            group["param_names"] = [name for name, _ in params]
            params = [p for _, p in params]
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is "
                                f"{type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        group["params"] = params
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required optimization "
                                 f"parameter {name}")
            group.setdefault(name, default)
        if len({id(p) for p in params}) != len(params):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in future, "
                          "this will cause an error", UserWarning, stacklevel=3)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    # ------------------------------------------------------------------ stepping
    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.grad_fn = None
                    p.grad._data[...] = 0

    def register_step_pre_hook(self, hook):
        """``hook(optimizer, args, kwargs)`` before each step (it may return new (args, kwargs))."""
        return _hook_handle(self.__dict__.setdefault("_step_pre_hooks", {}), hook)

    def register_step_post_hook(self, hook):
        """``hook(optimizer, args, kwargs)`` after each step."""
        return _hook_handle(self.__dict__.setdefault("_step_post_hooks", {}), hook)

    def __init_subclass__(cls, **kwargs):
        """Every optimizer's step runs its pre and post hooks, as PyTorch's ``_use_grad`` wrapper does."""
        super().__init_subclass__(**kwargs)
        if "step" in cls.__dict__:
            cls.step = _with_step_hooks(cls.__dict__["step"])

    def step(self, closure=None):
        """Update every parameter that has a gradient; ``closure`` re-evaluates the loss first."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        previous = _mode.enabled  # what `with no_grad():` does, without its two method calls
        _mode.enabled = False
        try:
            for group in self.param_groups:
                params = [p for p in group["params"] if p.grad is not None]
                if params:
                    first = params[0]._data
                    if type(first) is np.ndarray:
                        self._update(group, params)
                    else:
                        try:
                            with first.device:  # cupy allocates on the current GPU: the params' GPU
                                self._update(group, params)
                        except MemoryError as error:
                            if backend.is_device_out_of_memory(error):
                                raise backend.device_out_of_memory(
                                    error, f"{type(self).__name__}.step") from error
                            raise
        finally:
            _mode.enabled = previous
        return loss

    def _update(self, group: dict, params: list) -> None:
        """The one loop over the parameters that have gradients, shared by every optimizer (as
        Chainer's UpdateRule): create the state on the first step, count the step, turn the gradient
        the way the update follows (maximize; L2 or decoupled weight decay), then the optimizer's own
        rule, ``_rule``, on raw arrays."""
        hyper = self._hyperparameters(group)
        decay, decoupled, maximize = hyper.weight_decay, hyper.decoupled, hyper.maximize
        rule, init_state, state_of = self._rule, self._init_state, self.state
        for p in params:
            w = p._data
            state = state_of[p]
            if not state:
                init_state(state, w, hyper)
            step = advance_step(state) if "step" in state else 0.0
            if decay != 0 or maximize:
                if decoupled and decay != 0:
                    w *= 1.0 - hyper.lr * decay
                rule(w, directed_gradient(p.grad._data, w, maximize, 0.0 if decoupled else decay), state,
                     step, hyper)
            else:  # the usual update follows the gradient itself (what directed_gradient returns)
                rule(w, p.grad._data, state, step, hyper)

    def _hyperparameters(self, group: dict) -> SimpleNamespace:
        """The group's options as plain numbers, read once per step; optimizers add their own."""
        return SimpleNamespace(lr=float(group["lr"]), weight_decay=float(group.get("weight_decay", 0)),
                               maximize=bool(group.get("maximize", False)),
                               decoupled=bool(group.get("decoupled_weight_decay", False)))

    def _init_state(self, state: dict, weight, hyper) -> None:
        """Fill a parameter's empty state on its first step (the step counter, the moments)."""

    def _rule(self, weight, grad, state: dict, step: float, hyper) -> None:
        """Update ``weight`` in place from ``grad`` (already directed and L2-decayed)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ state dicts
    def state_dict(self) -> dict:
        """``{'state': {param_index: {...}}, 'param_groups': [{..., 'params': [indices]}]}``, as PyTorch.

        The tensors in ``state`` are the optimizer's own (not copies), as in PyTorch.
        """
        index_of: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index_of.setdefault(id(p), len(index_of))
            packed["params"] = [index_of[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {(index_of[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore state and options saved by ``state_dict`` (ours or PyTorch's, same format).

        State tensors are copied onto each parameter's device and, when floating point, into its dtype.
        """
        if "state" not in state_dict or "param_groups" not in state_dict:
            raise ValueError("an optimizer state dict needs the keys 'state' and 'param_groups'; got "
                             f"{sorted(map(str, state_dict))}")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has a different number of parameter groups "
                             f"({len(saved_groups)}) than this optimizer ({len(self.param_groups)})")
        for i, (ours, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(ours["params"]) != len(saved["params"]):
                raise ValueError(f"loaded state dict contains a parameter group (index {i}, "
                                 f"{len(saved['params'])} params) that doesn't match the size of "
                                 f"optimizer's group ({len(ours['params'])} params)")
        id_map = {}
        for ours, saved in zip(self.param_groups, saved_groups):
            for saved_id, p in zip(saved["params"], ours["params"]):
                id_map[_as_index(saved_id)] = p
        new_state: defaultdict = defaultdict(dict)
        for key, value in state_dict["state"].items():
            param = id_map.get(_as_index(key))
            if param is None:
                new_state[key] = value
                continue
            new_state[param] = {name: _cast_state(param, name, v) for name, v in value.items()}
        new_groups = []
        for ours, saved in zip(self.param_groups, saved_groups):
            group = {k: (tuple(v) if k == "betas" else v) for k, v in saved.items() if k != "params"}
            group["params"] = ours["params"]
            new_groups.append(group)
        self.state = new_state
        self.param_groups = new_groups

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


def _as_index(key):
    """State keys are integers; a state dict that went through a file may carry them as strings."""
    if isinstance(key, str) and key.isdigit():
        return int(key)
    return key


def _cast_state(param: Tensor, name: str, value):
    if isinstance(value, np.ndarray):
        value = Tensor._wrap(value)
    if not isinstance(value, Tensor):
        return value
    if name == "step":  # the step count stays a float32 CPU scalar, as in PyTorch
        return Tensor._wrap(np.array(backend.to_host(value._data), dtype=np.float32))
    array = backend.to_device_array(value._data, param.device)
    with backend.device_context(param.device):  # cupy casts and copies on the current GPU
        if param._data.dtype.kind == "f":
            array = array.astype(param._data.dtype, copy=False)
        if array is value._data:
            array = array.copy()  # never share buffers with the dict (or with another optimizer)
    return Tensor._wrap(array)


class _RemovableHandle:
    def __init__(self, hooks: dict, key: int):
        self._hooks, self.id = hooks, key

    def remove(self) -> None:
        self._hooks.pop(self.id, None)


def _hook_handle(hooks: dict, hook) -> _RemovableHandle:
    key = max(hooks, default=-1) + 1
    hooks[key] = hook
    return _RemovableHandle(hooks, key)


def _with_step_hooks(step):
    @functools.wraps(step)
    def wrapper(self, *args, **kwargs):
        d = self.__dict__
        pre, post = d.get("_step_pre_hooks"), d.get("_step_post_hooks")
        if not pre and not post:  # the usual step, without hooks
            return step(self, *args, **kwargs)
        for hook in list((pre or {}).values()):
            result = hook(self, args, kwargs)
            if result is not None:
                args, kwargs = result
        out = step(self, *args, **kwargs)
        for hook in list(d.get("_step_post_hooks", {}).values()):
            hook(self, args, kwargs)
        return out

    return wrapper


Optimizer.step = _with_step_hooks(Optimizer.step)
