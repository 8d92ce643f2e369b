"""A linear-algebra tour in the manner of the tutorials: solve a system, fit a line by least squares,
Cholesky and triangular solves, a rotation from matrix_exp, norms and condition numbers, a gradient
through a solve, inference_mode for evaluation, and printing with set_printoptions."""
import torch


def run():
    out = {}
    A = torch.tensor([[4.0, 1.0, 0.5], [1.0, 3.0, -0.2], [0.5, -0.2, 2.5]], dtype=torch.float64)
    b = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    out["solve"] = torch.linalg.solve(A, b)
    out["residual"] = torch.dist(A @ out["solve"], b)

    # least squares: the line through noisy points
    x = torch.linspace(0, 1, 20, dtype=torch.float64)
    y = 2.0 * x + 0.5 + 0.01 * torch.sin(13 * x)
    design = torch.stack([x, torch.ones_like(x)], dim=1)
    fit = torch.linalg.lstsq(design, y.unsqueeze(1))
    out["slope_intercept"] = fit.solution.squeeze(1)
    out["rank"] = int(fit.rank)

    # Cholesky: A = L L^T, then two triangular solves, or cholesky_solve in one call
    L = torch.linalg.cholesky(A)
    z = torch.linalg.solve_triangular(L, b.unsqueeze(1), upper=False)
    out["two_triangular_solves"] = torch.linalg.solve_triangular(L.mT, z, upper=True).squeeze(1)
    out["cholesky_solve"] = torch.cholesky_solve(b.unsqueeze(1), L).squeeze(1)
    out["cholesky_inverse"] = torch.cholesky_inverse(L)

    # a rotation by 0.3 rad as the exponential of a skew-symmetric generator
    generator = torch.tensor([[0.0, -0.3], [0.3, 0.0]], dtype=torch.float64)
    rotation = torch.matrix_exp(generator)
    out["rotation"] = rotation
    out["rotation_det"] = torch.linalg.det(rotation)

    out["norms"] = torch.stack([torch.linalg.matrix_norm(A, o) for o in ("fro", "nuc", 2, 1)])
    out["cond"] = torch.linalg.cond(A)
    values, vectors = torch.linalg.eigh(A)
    out["eigenvalues"] = values
    U, S, Vh = torch.linalg.svd(A)
    out["svd_reconstruction_error"] = (U @ torch.diag(S) @ Vh - A).abs().max()

    # a gradient through a solve: how the solution's norm moves with the matrix
    A_var = A.clone().requires_grad_()
    torch.linalg.solve(A_var, b).pow(2).sum().backward()
    out["grad_through_solve"] = A_var.grad

    with torch.inference_mode():
        evaluated = A @ out["solve"]
    out["inference_mode"] = (evaluated.requires_grad, torch.is_inference_mode_enabled())

    torch.set_printoptions(precision=2)
    out["printed"] = repr(torch.tensor([[1.23456, 2.0], [3.5, -4.25]]))
    torch.set_printoptions(profile="default")
    out["printed_default"] = repr(torch.tensor([0.001, 1000.0]))
    return out
