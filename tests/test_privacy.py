"""course_lib.privacy (generated from chapter 12) against Google's dp-accounting RDP accountant."""

import math

import numpy as np
import pytest
from dp_accounting import dp_event  # installed by `make venv` with --no-deps (see requirements.txt)
from dp_accounting.rdp import rdp_privacy_accountant

from course_lib import privacy

# (q, sigma, T, delta): MNIST-like DP-SGD runs, tiny and large sampling rates, high and low noise, several deltas.
SETTINGS = [
    (0.01, 1.0, 200, 1e-5),
    (0.01, 4.0, 200, 1e-5),
    (256 / 60_000, 1.1, 14_063, 1e-5),  # Abadi et al.'s MNIST setting, 60 epochs
    (0.001, 0.8, 10_000, 1e-6),
    (0.05, 1.5, 1_000, 1e-5),
    (0.1, 3.0, 500, 1e-4),
    (0.02, 0.7, 500, 1e-5),
    (0.01, 0.5, 100, 1e-5),  # optimum at a fractional order below 2
    (0.3, 1.0, 50, 1e-3),
    (1.0, 5.0, 10, 1e-5),  # no sampling: the plain Gaussian mechanism
]


def reference_epsilon(q, sigma, steps, delta, orders=None):
    acc = rdp_privacy_accountant.RdpAccountant(orders) if orders is not None else rdp_privacy_accountant.RdpAccountant()
    acc.compose(dp_event.PoissonSampledDpEvent(q, dp_event.GaussianDpEvent(sigma)), steps)
    return acc.get_epsilon(delta)


@pytest.mark.parametrize("q, sigma, steps, delta", SETTINGS)
def test_epsilon_matches_dp_accounting_within_one_percent(q, sigma, steps, delta):
    ours = privacy.dp_sgd_epsilon(q, sigma, steps, delta)
    ref = reference_epsilon(q, sigma, steps, delta)
    assert ours == pytest.approx(ref, rel=0.01)
    assert ours == pytest.approx(ref, rel=1e-6)  # same orders, same formulas: in fact equal


def test_default_orders_are_dp_accountings():
    np.testing.assert_allclose(privacy.DEFAULT_ORDERS, rdp_privacy_accountant.DEFAULT_RDP_ORDERS)


def test_integer_orders_only_still_match():
    orders = list(range(2, 257))
    for q, sigma, steps, delta in SETTINGS[:6]:
        ours = privacy.dp_sgd_epsilon(q, sigma, steps, delta, orders=orders)
        assert ours == pytest.approx(reference_epsilon(q, sigma, steps, delta, orders), rel=1e-6)


def test_rdp_subsampled_gaussian_matches_dp_accounting_per_order():
    from dp_accounting.rdp.rdp_privacy_accountant import _compute_rdp_poisson_subsampled_gaussian as ref_rdp

    for q, sigma in [(0.01, 1.0), (0.2, 0.9), (0.004, 3.0)]:
        np.testing.assert_allclose(privacy.rdp_subsampled_gaussian(q, sigma),
                                   ref_rdp(q, sigma, privacy.DEFAULT_ORDERS), rtol=1e-9)


def test_amplification_and_gaussian_limit():
    alphas = np.array([2, 8, 32])
    np.testing.assert_allclose(privacy.rdp_subsampled_gaussian(1.0, 2.0, alphas), alphas / 8)
    small = privacy.rdp_subsampled_gaussian(0.01, 2.0, alphas)
    assert np.all(small < 1e-3 * alphas / 8)  # subsampling at q = 0.01 cuts RDP by far more than 100x here
    assert privacy.dp_sgd_epsilon(0.01, 1.0, 200, 1e-5) < privacy.dp_sgd_epsilon(0.01, 1.0, 400, 1e-5)
    assert privacy.dp_sgd_epsilon(0.01, 1.0, 200, 1e-5) > privacy.dp_sgd_epsilon(0.01, 2.0, 200, 1e-5)


def test_edge_cases():
    assert math.isinf(privacy.dp_sgd_epsilon(0.01, 0.0, 10, 1e-5))
    assert privacy.dp_sgd_epsilon(0.0, 1.0, 10, 1e-5) == 0.0
    assert privacy.dp_sgd_epsilon(0.01, 1.0, 0, 1e-5) == 0.0
    eps, order = privacy.rdp_to_epsilon([2, 3], [0.1, 0.2], 1e-5)
    assert eps > 0 and order in (2.0, 3.0)


@pytest.mark.parametrize("kwargs, arg", [
    ({"sampling_rate": 1.5}, "sampling_rate"), ({"sampling_rate": float("nan")}, "sampling_rate"),
    ({"noise_multiplier": -1.0}, "noise_multiplier"), ({"steps": -1}, "steps"), ({"steps": 2.5}, "steps"),
    ({"delta": 0.0}, "delta"), ({"delta": 1.0}, "delta"), ({"orders": [0.5, 2]}, "orders"), ({"orders": []}, "orders"),
])
def test_bad_arguments_are_named(kwargs, arg):
    args = {"sampling_rate": 0.01, "noise_multiplier": 1.0, "steps": 10, "delta": 1e-5} | kwargs
    with pytest.raises(ValueError, match=arg):
        privacy.dp_sgd_epsilon(**args)
    with pytest.raises(ValueError, match="rdp must have one value per order"):
        privacy.rdp_to_epsilon([2, 3], [0.1], 1e-5)


def test_poisson_batches_include_each_example_with_probability_q():
    rng = np.random.default_rng(0)
    batches = list(privacy.poisson_batches(1_000, 0.05, 400, rng))
    assert len(batches) == 400
    sizes = np.array([len(b) for b in batches])
    assert abs(sizes.mean() - 50) < 1.5 and sizes.std() > 3  # sizes vary: Binomial(1000, 0.05), sd about 6.9
    counts = np.bincount(np.concatenate(batches), minlength=1_000)
    assert abs(counts.mean() / 400 - 0.05) < 0.002
    assert all(np.all(np.diff(b) > 0) and b.min() >= 0 and b.max() < 1_000 for b in batches if len(b))
    assert sum(len(b) for b in privacy.poisson_batches(10, 0.0, 5, rng)) == 0
    with pytest.raises(ValueError, match="n must"):
        next(privacy.poisson_batches(0, 0.1, 1, rng))
    with pytest.raises(ValueError, match="sampling_rate"):
        next(privacy.poisson_batches(10, 2.0, 1, rng))
