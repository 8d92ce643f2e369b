"""Which device a run uses, and why (the reason is shown beside the device box)."""
from __future__ import annotations

from layerforge.engine import cuda

from .errors import TrainingError

# Below these sizes numpy on the CPU beats a GPU: kernel-launch overhead dominates tiny matrices.
SMALL_MODEL_PARAMS = 1_000_000
SMALL_BATCH = 512


def choose_device(requested: str, param_count: int, batch_size: int) -> tuple[str, str]:
    """(device string, reason). 'cuda'/'cuda:N' without a usable GPU raise TrainingError."""
    if requested == "cpu":
        return "cpu", "CPU chosen in the settings"
    if requested.startswith("cuda"):
        reason = cuda.unavailable_reason()
        if reason is not None:
            raise TrainingError(f"device '{requested}' is not available: {reason}; choose 'cpu' or 'auto'")
        index = int(requested.partition(":")[2] or 0)
        count = cuda.device_count()
        if index >= count:
            raise TrainingError(f"device '{requested}' does not exist: this machine has {count} CUDA GPU"
                                f"{'s' if count != 1 else ''} (cuda:0{f'..cuda:{count - 1}' if count > 1 else ''})")
        return requested, f"{requested} chosen in the settings ({cuda.get_device_name(index)})"
    small = param_count < SMALL_MODEL_PARAMS and batch_size <= SMALL_BATCH
    if small:
        return "cpu", (f"auto: CPU, because the model is small ({param_count:,} parameters, batch {batch_size}) "
                       f"and a GPU would spend its time launching kernels")
    reason = cuda.unavailable_reason()
    if reason is None:
        return "cuda", f"auto: GPU {cuda.get_device_name(0)} for a model of {param_count:,} parameters"
    return "cpu", f"auto: CPU, because no GPU can be used ({reason})"


def device_choices() -> list[tuple[str, str | None, bool, str]]:
    """(label, device string, enabled, tooltip) for a device picker: CPU, then each GPU and Auto, or
    why there is no GPU. Never raises: a broken GPU stack must not stop the app from opening."""
    choices = [("CPU", "cpu", True, "Train on the processor (always available)")]
    try:
        if cuda.is_available():
            for index in range(cuda.device_count()):
                name = cuda.get_device_name(index)
                choices.append((f"GPU {index}: {name}", f"cuda:{index}", True,
                                f"Train on {name} (CUDA, through CuPy)"))
            choices.append(("Auto (by model size)", "auto", True,
                            f"Small models (under {SMALL_MODEL_PARAMS:,} parameters, batches up to {SMALL_BATCH}) "
                            "train faster on the CPU, where a GPU would spend its time launching kernels; larger "
                            "ones on GPU 0. The status bar says which was chosen, and why, when the run starts."))
            return choices
        reason = cuda.unavailable_reason() or "no CUDA GPU was found"
    except Exception as error:  # noqa: BLE001  (anything the GPU stack raises is reported, not raised)
        reason = f"CUDA could not be checked: {error}"
    choices.append(("CUDA (unavailable)", None, False, reason))
    return choices
