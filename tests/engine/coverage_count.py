"""How much of PyTorch's public API the engine names: torch functions and Tensor methods.

Run as a script (``python tests/engine/coverage_count.py [--missing]``); not a test module. A torch
function is a public routine of ``dir(torch)`` (no leading underscore, a function or builtin); a
Tensor method is a public name of ``dir(torch.Tensor)``. Covered means the engine has the same name.
``--missing`` lists what is not covered, grouped by the reason it is not (docs/engine-coverage.md).
"""
from __future__ import annotations

import inspect
import re
import sys

import torch

import layerforge.engine as engine

# (reason, pattern): the first pattern a missing name matches gives its reason.
REASONS = [
    ("quantization and vendor kernels (cuDNN, MIOpen, MKL-DNN, FBGEMM): the engine has no quantized dtypes "
     "and calls no vendor library",
     r"^(cudnn_|miopen_|mkldnn_|fbgemm_|quantize|quantized_|q_|dequantize|fake_quantize|int_repr|qscheme|"
     r"choose_qparams|fused_moving_avg|to_mkldnn|is_mkldnn|empty_quantized)"),
    ("sparse layouts: the engine's tensors are dense arrays",
     r"(sparse|^smm$|^dsmm$|^hsmm$|^hspmm$|^spmm$|^saddmm$|^sspaddmm$|indices_copy$|^(c?col|crow|row)_indices$|"
     r"^coalesce$|^is_coalesced$|^indices$|^values$|^dense_dim$|^to_padded_tensor$|^values_copy$)"),
    ("complex numbers: the engine has no complex dtypes",
     r"^(complex|polar|view_as_complex|view_as_real|conj|conj_physical|conj_physical_|resolve_conj|resolve_neg|"
     r"is_conj|is_neg|angle|real|imag|cfloat|cdouble|chalf)"),
    ("compiler, TorchScript and functorch machinery (no tracing or graph compiler here; vmap runs as a loop)",
     r"^(sym_|compile|compiled_with|vmap|cond|while_loop|fork|wait|parse_ir|parse_schema|parse_type_comment|"
     r"import_ir_module|merge_type_from_type_comment|unify_type_list|classproperty|typename|"
     r"thread_safe_generator|get_file_path|prepare_multiprocessing_environment|profiler_|hash_tensor|"
     r"module_load|slice_inverse|dim_order|grad_dtype)"),
    ("autocast (mixed precision): not supported", r"autocast"),
    ("explicit strides and storage (as_strided and its copies, empty_strided, storage objects): engine arrays own "
     "their memory layout",
     r"(_copy$|^as_strided|^empty_strided|^new_empty_strided|^empty_permuted|storage|^set_$|^record_stream$|"
     r"^is_set_to$|^const_data_ptr$|^narrow_copy$|^as_subclass$|^is_distributed$|^is_storage$)"),
    ("removed from PyTorch: torch.lstsq/solve/symeig/eig and their Tensor methods only raise a RuntimeError "
     "there (the torch.linalg forms exist here)", r"^(lstsq|solve|symeig|eig)$"),
    ("matrix decompositions still missing (lobpcg, the iterative eigensolver; eig/eigvals give complex "
     "results): not written yet",
     r"^(svd_lowrank|lu|lu_solve|lu_unpack|geqrf|orgqr|ormqr|lobpcg|pca_lowrank)$"),
    ("special functions (lgamma, digamma, polygamma, Bessel, incomplete gamma): numpy has no kernels for them; "
     "they need their own, with gradients",
     r"^(lgamma|digamma|polygamma|mvlgamma|i0|igamma|igammac|nextafter)_?$"),
    ("signal processing: stft/istft give complex spectra (PyTorch requires return_complex=True) and the engine "
     "has no complex dtypes",
     r"^(stft|istft|bartlett_window|blackman_window|hamming_window|hann_window|kaiser_window|histogram|histogramdd)$"),
    ("functional RNN entry points and fused cells (nn.RNN/LSTM/GRU and their cells exist)",
     r"^(lstm|gru|rnn_tanh|rnn_relu)(_cell)?$"),
    ("internal kernels behind other functions (the CUDA-only batch-norm statistics and backward helpers, the "
     "sparse-only native_norm)",
     r"^(batch_norm_|native_|norm_except_dim|conv_tbc|constant_pad_nd|convolution|affine_grid_generator|"
     r"grid_sampler|embedding_renorm_|segment_reduce|_)"),
    ("global switches without an engine counterpart (determinism, anomaly mode, denormals, matmul precision, "
     "interop threads, printing, default tensor type)",
     r"^(are_deterministic|use_deterministic|is_deterministic|get_deterministic|set_deterministic|"
     r"is_anomaly|set_anomaly|set_flush_denormal|set_float32_matmul|get_float32_matmul|"
     r"get_num_interop_threads|set_num_interop_threads|init_num_threads|set_warn_always|is_warn_always|"
     r"set_printoptions|set_default_tensor_type|is_inference_mode_enabled|is_vulkan_available|"
     r"get_device_module)"),
    ("3-d transposed convolution, and the torch.* forms of max pooling that return indices (the nn.functional "
     "forms with return_indices=True exist): not written yet",
     r"^(conv_transpose3d|max_pool1d_with_indices|adaptive_max_pool1d)$"),
    ("bfloat16: numpy has no bfloat16 dtype", r"^bfloat16$"),
    ("Tensor.index, an internal entry point of indexing (x[...] covers it)",
     r"^(index|resize|resize_as)$"),
    ("other backends' devices (XPU/IPU/MTIA), files mapped as storage (from_file) and the legacy Variable "
     "attributes (volatile, reinforce, map2_); DLPack and frombuffer exist",
     r"^(from_dlpack|to_dlpack|from_file|frombuffer|xpu|ipu|mtia|reinforce|volatile|map2_)$"),
    ("torch.embedding_bag's legacy form, which also returns PyTorch's internal offset2bag/bag_size/max_indices "
     "(nn.functional.embedding_bag and nn.EmbeddingBag exist)",
     r"^(embedding|embedding_bag|kl_div|batch_norm|instance_norm|binary_cross_entropy_with_logits|"
     r"cosine_embedding_loss|margin_ranking_loss|hinge_embedding_loss|triplet_margin_loss|poisson_nll_loss|"
     r"ctc_loss|feature_alpha_dropout|feature_dropout|dropout_|alpha_dropout_|feature_alpha_dropout_|"
     r"feature_dropout_|channel_shuffle|native_channel_shuffle|rsub|pdist|put|index_put|fill|fill_|"
     r"unsafe_split_with_sizes|nonzero_static|get_device|gradient|binomial|poisson)$"),
]


def torch_functions():
    return sorted(n for n in dir(torch) if not n.startswith("_") and inspect.isroutine(getattr(torch, n)))


def tensor_methods():
    return sorted(n for n in dir(torch.Tensor) if not n.startswith("_"))


def reason_for(name: str) -> str:
    for reason, pattern in REASONS:
        if re.search(pattern, name):
            return reason
    return "not yet written"


def grouped(missing):
    groups: dict = {}
    for name in missing:
        groups.setdefault(reason_for(name), []).append(name)
    return groups


def main(argv):
    functions, methods = torch_functions(), tensor_methods()
    missing_f = [n for n in functions if not hasattr(engine, n)]
    missing_m = [n for n in methods if not hasattr(engine.Tensor, n)]
    print(f"torch functions: {len(functions) - len(missing_f)} of {len(functions)}")
    print(f"Tensor methods:  {len(methods) - len(missing_m)} of {len(methods)}")
    if "--missing" in argv:
        for title, missing in (("torch functions", missing_f), ("Tensor methods", missing_m)):
            print(f"\nmissing {title}:")
            for reason, names in grouped(missing).items():
                print(f"- {reason} ({len(names)}): {', '.join(names)}")


if __name__ == "__main__":
    main(sys.argv[1:])
