"""Which tensors of a weights file belong to which weights of the model: by name, and by shape.

A file's names may carry a prefix the model's do not (``module.`` from DataParallel, ``model.`` from a
Lightning checkpoint, ``_orig_mod.`` from torch.compile); the prefix that matches the most names is
stripped. A name that matches with another shape is listed with both shapes and not used. Where no
name matches at all but the file holds exactly the model's tensors, shape by shape in the same order
(an ``nn.Sequential`` of the same layers: ``0.weight`` for ``dense_1.weight``), they match by position.
Qt-free and engine-free: shapes are tuples, tensors whatever the caller holds.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

COMMON_PREFIXES = ("module.", "model.", "_orig_mod.", "net.", "network.", "model.module.", "module.model.")
# Where a checkpoint dict keeps the model's weights, most specific first.
STATE_DICT_KEYS = ("state_dict", "model_state_dict", "model_state", "model", "net", "network", "weights",
                   "params", "module")


@dataclass
class WeightsMatch:
    """What importing ``path`` into the model does. ``matched``: (model name, file name, shape);
    ``missing``: (model name, shape) the file lacks; ``unexpected``: (file name, shape) the model
    lacks; ``wrong_shape``: (model name, file name, model shape, file shape). ``found_in``: the key of
    the checkpoint dict the weights came from ("" for the file itself); ``prefix``: the prefix
    stripped from the file's names; ``by_position``: names differed and the tensors matched in order.
    ``kept``: what the weights the file does not give keep (filled in by the workspace)."""

    path: Path
    matched: list = field(default_factory=list)
    missing: list = field(default_factory=list)
    unexpected: list = field(default_factory=list)
    wrong_shape: list = field(default_factory=list)
    found_in: str = ""
    prefix: str = ""
    by_position: bool = False
    kept: str = ""
    applied: bool = False

    @property
    def any_matched(self) -> bool:
        return bool(self.matched)

    @property
    def complete(self) -> bool:
        """Every weight of the model comes from the file."""
        return bool(self.matched) and not self.missing and not self.wrong_shape

    @property
    def model_count(self) -> int:
        return len(self.matched) + len(self.missing) + len(self.wrong_shape)

    def headline(self) -> str:
        """One line: "6 of 6 model tensors matched" and how."""
        how = []
        if self.found_in:
            how.append(f"from its '{self.found_in}' entry")
        if self.prefix:
            how.append(f"with the prefix '{self.prefix}' stripped")
        if self.by_position:
            how.append("by position and shape (the names differ)")
        text = f"{len(self.matched)} of {self.model_count} model tensors matched"
        return text + (f" ({', '.join(how)})" if how else "")

    def problems(self) -> list[str]:
        """One line per tensor that did not match, for a dialog or a note."""
        lines = [f"wrong shape: {model} is {_shape(mine)} in the model, {_shape(theirs)} in the file"
                 + (f" (as '{name}')" if name != model else "")
                 for model, name, mine, theirs in self.wrong_shape]
        lines += [f"missing from the file: {name} {_shape(shape)}" for name, shape in self.missing]
        lines += [f"not in the model: {name} {_shape(shape)}" for name, shape in self.unexpected]
        return lines


def _shape(shape) -> str:
    return "[" + ", ".join(str(n) for n in shape) + "]"


def find_state_dict(obj, is_tensor) -> tuple[str, dict]:
    """(where, {name: tensor}) of the weights in what a file held: a state dict itself, or the entry
    of a checkpoint dict that holds one. ValueError says why there is none."""
    if is_tensor(obj):
        raise ValueError("it holds a single tensor, not a state dict of named weights")
    if not isinstance(obj, dict):
        raise ValueError(f"it holds a {type(obj).__name__}, not a state dict of named weights")
    if "param_groups" in obj and "state" in obj:
        raise ValueError("it is an optimizer's state dict (state, param_groups), not a model's weights")
    tensors = _tensors_of(obj, is_tensor)
    if tensors and len(tensors) * 2 >= len(obj):
        return "", tensors
    for key in STATE_DICT_KEYS:
        inner = obj.get(key)
        if isinstance(inner, dict) and not ("param_groups" in inner and "state" in inner):
            found = _flatten(inner, "", is_tensor)
            if found:
                return key, found
    found = {name: value for name, value in _flatten(obj, "", is_tensor).items()
             if not name.startswith(("optimizer", "optim", "scheduler", "lr_scheduler", "scaler"))}
    if not found:
        raise ValueError("it holds no tensors (a checkpoint of numbers and text only)")
    return "", found


def _tensors_of(obj: dict, is_tensor) -> dict:
    return {str(key): value for key, value in obj.items() if is_tensor(value)}


def _flatten(obj, prefix: str, is_tensor, depth: int = 0) -> dict:
    found: dict = {}
    if depth > 32:
        return found
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, (list, tuple)) else ()
    for key, value in items:
        name = f"{prefix}{key}"
        if is_tensor(value):
            found[name] = value
        elif isinstance(value, (dict, list, tuple)):
            found.update(_flatten(value, name + ".", is_tensor, depth + 1))
    return found


def match(path: Path, model_shapes: dict, file_shapes: dict, found_in: str = "") -> WeightsMatch:
    """Match the file's ``{name: shape}`` to the model's ``{name: shape}`` (both in their order)."""
    best_prefix, best_names = "", {}
    for prefix in _prefixes(list(file_shapes)):
        names = {name[len(prefix):]: name for name in file_shapes if name.startswith(prefix)}
        hits = sum(1 for name in names if name in model_shapes)
        if hits > sum(1 for name in best_names if name in model_shapes):
            best_prefix, best_names = prefix, names
    result = WeightsMatch(Path(path), found_in=found_in, prefix=best_prefix)
    if not any(name in model_shapes for name in best_names):
        if [tuple(s) for s in model_shapes.values()] == [tuple(s) for s in file_shapes.values()] and model_shapes:
            result.by_position = True
            result.matched = [(model, name, tuple(shape)) for (model, shape), name in
                              zip(model_shapes.items(), file_shapes)]
            return result
        best_prefix, best_names, result.prefix = "", {name: name for name in file_shapes}, ""
    used = set()
    for model, shape in model_shapes.items():
        name = best_names.get(model)
        if name is None:
            result.missing.append((model, tuple(shape)))
        elif tuple(file_shapes[name]) != tuple(shape):
            result.wrong_shape.append((model, name, tuple(shape), tuple(file_shapes[name])))
            used.add(name)
        else:
            result.matched.append((model, name, tuple(shape)))
            used.add(name)
    result.unexpected = [(name, tuple(shape)) for name, shape in file_shapes.items() if name not in used]
    return result


def _prefixes(names: list[str]) -> list[str]:
    """"" and the prefixes worth trying: the common ones, and a first name part every name shares."""
    candidates = [""] + [p for p in COMMON_PREFIXES if any(n.startswith(p) for n in names)]
    heads = {name.split(".", 1)[0] for name in names if "." in name}
    if len(heads) == 1 and all("." in name for name in names):
        head = heads.pop() + "."
        if head not in candidates:
            candidates.append(head)
    return candidates
