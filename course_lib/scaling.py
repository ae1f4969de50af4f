"""Scaling-law fits with SciPy: the parametric loss L(N, D), IsoFLOP minima, power laws, bootstrap intervals.

Generated from chapter 16. N: non-embedding parameters; D: training tokens; C: training FLOPs (6·N·D);
L: held-out loss (here bits per byte). Sources of the formulas:

- Hoffmann et al. (2022), "Training Compute-Optimal Large Language Models", arXiv:2203.15556:
  eq. 2 / §3.3 the parametric loss ``L(N, D) = E + A/N^α + B/D^β``; its fit (approach 3) minimises the
  Huber loss (δ = 1e-3) of ``LSE(a − α·log N, b − β·log D, e) − log L`` with L-BFGS from a grid of
  initialisations (A = e^a, B = e^b, E = e^e); eq. 4 the compute-optimal split
  ``N_opt = G·(C/6)^a, D_opt = G⁻¹·(C/6)^b, G = (αA/(βB))^(1/(α+β)), a = β/(α+β), b = α/(α+β)``;
  §3.2 approach 2: a parabola through each IsoFLOP curve's loss against log N, its minimum N_opt(C).
- Besiroglu et al. (2024), "Chinchilla Scaling: A replication attempt", arXiv:2404.10102: the same fit,
  the Huber loss *summed* (not averaged) over runs, and bootstrap confidence intervals over runs.
- Kaplan et al. (2020), "Scaling Laws for Neural Language Models", arXiv:2001.08361, eq. 1.5:
  ``L(N, D) = ((N_c/N)^(α_N/α_D) + D_c/D)^α_D``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize, special


def _positive_array(value: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be an array of numbers, got {type(value).__name__}") from err
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"{name} must hold finite numbers > 0")
    return arr


def _same_length(**arrays: np.ndarray) -> None:
    sizes = {name: len(a) for name, a in arrays.items()}
    if len(set(sizes.values())) != 1:
        raise ValueError(f"arrays must have the same length, got {sizes}")


@dataclass(frozen=True)
class ChinchillaFit:
    """Parameters of ``L(N, D) = E + A/N^alpha + B/D^beta`` (Hoffmann et al., 2022, eq. 2)."""

    E: float
    A: float
    B: float
    alpha: float
    beta: float

    def loss(self, n_params: Any, tokens: Any) -> np.ndarray:
        """Predicted loss at N = ``n_params``, D = ``tokens`` (arrays broadcast)."""
        n, d = np.asarray(n_params, dtype=float), np.asarray(tokens, dtype=float)
        return self.E + self.A / n**self.alpha + self.B / d**self.beta

    def compute_optimal(self, flops: Any) -> tuple[np.ndarray, np.ndarray]:
        """``(N_opt, D_opt)`` minimising the loss at C = 6·N·D = ``flops`` (Hoffmann et al., 2022, eq. 4)."""
        c = np.asarray(flops, dtype=float)
        if np.any(~np.isfinite(c)) or np.any(c <= 0):
            raise ValueError("flops must be finite and > 0")
        g = (self.alpha * self.A / (self.beta * self.B)) ** (1 / (self.alpha + self.beta))
        n = g * (c / 6) ** (self.beta / (self.alpha + self.beta))
        return n, c / (6 * n)


def huber(residuals: Any, delta: float = 1e-3) -> np.ndarray:
    """Huber's loss of each residual r: r²/2 if |r| <= delta, else delta·(|r| − delta/2) (Huber, 1964)."""
    if not delta > 0:
        raise ValueError(f"delta must be > 0, got {delta!r}")
    r = np.abs(np.asarray(residuals, dtype=float))
    return np.where(r <= delta, 0.5 * r**2, delta * (r - 0.5 * delta))


def _objective(theta: np.ndarray, log_n: np.ndarray, log_d: np.ndarray, log_l: np.ndarray,
               delta: float) -> tuple[float, np.ndarray]:
    a, b, e, alpha, beta = theta
    terms = np.stack([a - alpha * log_n, b - beta * log_d, np.full_like(log_n, e)])
    pred = special.logsumexp(terms, axis=0)
    r = pred - log_l
    weights = np.exp(terms - pred)  # softmax: d pred / d (a, b, e)
    dh = np.clip(r, -delta, delta)  # Huber's derivative
    grad = np.array([np.sum(dh * weights[0]), np.sum(dh * weights[1]), np.sum(dh * weights[2]),
                     np.sum(dh * weights[0] * -log_n), np.sum(dh * weights[1] * -log_d)])
    return float(np.sum(huber(r, delta))), grad


INIT_GRID: dict[str, tuple[float, ...]] = {
    "a": (0.0, 5.0, 10.0), "b": (0.0, 5.0, 10.0), "e": (-1.0, 0.5), "alpha": (0.2, 0.6), "beta": (0.2, 0.6)}
"""The grid of initialisations (a smaller version of Hoffmann et al.'s, app. D.2): 72 starts."""


def fit_chinchilla(n_params: Any, tokens: Any, loss: Any, *, delta: float = 1e-3,
                   starts: list[ChinchillaFit] | None = None) -> ChinchillaFit:
    """Fit ``E + A/N^α + B/D^β`` to runs (N_i, D_i, L_i): Hoffmann et al.'s approach 3.

    Minimises ``Σ_i Huber_δ(LSE(a − α·log N_i, b − β·log D_i, e) − log L_i)`` over (a, b, e, α, β) with
    L-BFGS-B (analytic gradient) from every point of :data:`INIT_GRID` (or from ``starts``, e.g. an earlier
    fit, as the bootstrap does), keeping the best; A = e^a, B = e^b, E = e^e. Needs at least 5 runs.

    Raises:
        TypeError / ValueError naming the argument: not arrays of positive finite numbers, different
        lengths, fewer than 5 runs, ``delta`` <= 0.
    """
    n, d, l_ = (_positive_array(v, k) for v, k in ((n_params, "n_params"), (tokens, "tokens"), (loss, "loss")))
    _same_length(n_params=n, tokens=d, loss=l_)
    if len(n) < 5:
        raise ValueError(f"loss: need at least 5 runs to fit 5 parameters, got {len(n)}")
    if not delta > 0:
        raise ValueError(f"delta must be > 0, got {delta!r}")
    if starts is None:
        points = list(itertools.product(*(INIT_GRID[k] for k in ("a", "b", "e", "alpha", "beta"))))
    else:
        points = [(np.log(f.A), np.log(f.B), np.log(f.E), f.alpha, f.beta) for f in starts]
    args = (np.log(n), np.log(d), np.log(l_), delta)
    best = None
    for start in points:
        res = optimize.minimize(_objective, np.array(start, dtype=float), args=args, jac=True, method="L-BFGS-B",
                                bounds=[(None, None)] * 3 + [(0, 5), (0, 5)])
        if best is None or res.fun < best.fun:
            best = res
    a, b, e, alpha, beta = best.x
    return ChinchillaFit(E=float(np.exp(e)), A=float(np.exp(a)), B=float(np.exp(b)), alpha=float(alpha),
                         beta=float(beta))


def isoflop_minimum(n_params: Any, loss: Any) -> tuple[float, float]:
    """Approach 2 for one IsoFLOP curve: fit ``L = p·x² + q·x + r`` with x = ln N; return ``(N_opt, L_min)``.

    N_opt = exp(−q / 2p). Raises ValueError when there are fewer than 3 runs or the parabola opens
    downwards (p <= 0: the runs do not bracket a minimum).
    """
    n, l_ = _positive_array(n_params, "n_params"), _positive_array(loss, "loss")
    _same_length(n_params=n, loss=l_)
    if len(n) < 3:
        raise ValueError(f"n_params: need at least 3 runs on the curve, got {len(n)}")
    p, q, r = np.polyfit(np.log(n), l_, 2)
    if p <= 0:
        raise ValueError("loss: the parabola opens downwards, so the runs do not bracket a minimum")
    x = -q / (2 * p)
    return float(np.exp(x)), float(r - q * q / (4 * p))


def fit_power_law(x: Any, y: Any) -> tuple[float, float]:
    """Least-squares line through (ln x, ln y): ``y ≈ k·x^p``; returns ``(k, p)``."""
    xs, ys = _positive_array(x, "x"), _positive_array(y, "y")
    _same_length(x=xs, y=ys)
    if len(xs) < 2:
        raise ValueError(f"x: need at least 2 points, got {len(xs)}")
    p, log_k = np.polyfit(np.log(xs), np.log(ys), 1)
    return float(np.exp(log_k)), float(p)


def kaplan_loss(n_params: Any, tokens: Any, n_c: float, d_c: float, alpha_n: float, alpha_d: float) -> np.ndarray:
    """Kaplan et al. (2020), eq. 1.5: ``((N_c/N)^(α_N/α_D) + D_c/D)^α_D``."""
    n, d = np.asarray(n_params, dtype=float), np.asarray(tokens, dtype=float)
    return ((n_c / n) ** (alpha_n / alpha_d) + d_c / d) ** alpha_d


def fit_kaplan(n_params: Any, tokens: Any, loss: Any) -> dict[str, float]:
    """Least-squares fit of :func:`kaplan_loss` on log L (SciPy ``least_squares``); returns
    ``{"n_c", "d_c", "alpha_n", "alpha_d"}``. Raises like :func:`fit_chinchilla`."""
    n, d, l_ = (_positive_array(v, k) for v, k in ((n_params, "n_params"), (tokens, "tokens"), (loss, "loss")))
    _same_length(n_params=n, tokens=d, loss=l_)
    if len(n) < 4:
        raise ValueError(f"loss: need at least 4 runs to fit 4 parameters, got {len(n)}")

    def residuals(t: np.ndarray) -> np.ndarray:
        return np.log(kaplan_loss(n, d, np.exp(t[0]), np.exp(t[1]), t[2], t[3])) - np.log(l_)

    best = None
    for ln_nc, ln_dc, a_n, a_d in itertools.product((10.0, 20.0, 30.0), (10.0, 20.0, 30.0), (0.05, 0.2),
                                                     (0.05, 0.2)):
        res = optimize.least_squares(residuals, [ln_nc, ln_dc, a_n, a_d],
                                     bounds=([-50, -50, 1e-4, 1e-4], [200, 200, 3, 3]))
        if best is None or res.cost < best.cost:
            best = res
    t = best.x
    return {"n_c": float(np.exp(t[0])), "d_c": float(np.exp(t[1])), "alpha_n": float(t[2]), "alpha_d": float(t[3])}


def bootstrap(statistic: Callable[[np.ndarray], Any], n_runs: int, *, samples: int = 200, seed: int = 0,
              level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Percentile bootstrap over runs (Efron & Tibshirani, 1993): ``statistic(indices)`` on ``samples``
    resamples of ``range(n_runs)`` drawn with replacement. Returns ``(low, high, all_values)``; the
    interval holds the central ``level`` of the values."""
    if isinstance(n_runs, bool) or not isinstance(n_runs, (int, np.integer)) or n_runs < 2:
        raise ValueError(f"n_runs must be an int >= 2, got {n_runs!r}")
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 2:
        raise ValueError(f"samples must be an int >= 2, got {samples!r}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    rng = np.random.default_rng(seed)
    values = np.array([np.asarray(statistic(rng.integers(0, n_runs, n_runs)), dtype=float)
                       for _ in range(samples)])
    tail = 100 * (1 - level) / 2
    return np.percentile(values, tail, axis=0), np.percentile(values, 100 - tail, axis=0), values
