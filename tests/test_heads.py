"""Output heads: the float likelihood is a distribution, and the integer path reproduces it."""

import math

import pytest
import torch

from ardmzip.models.heads import NUM_CLASSES, TABLE_ONE, CategoricalHead, LogisticMixtureHead

HEADS = [CategoricalHead(), LogisticMixtureHead(mixtures=5)]


def all_log_probs(head, out):
    """log p(v) for every value v: out (N, P) -> (N, 256)."""
    n = len(out)
    grid = out.view(1, n, head.params, 1, 1).expand(NUM_CLASSES, -1, -1, -1, -1)
    values = torch.arange(NUM_CLASSES).view(-1, 1, 1, 1).expand(-1, n, 1, 1)
    return head.log_prob(grid.double(), values)[..., 0, 0].t()


def integer_outputs(head, out):
    step, offset = head.output_grid()
    return torch.floor(out.double() / step + offset + 0.5).to(torch.int64)


@pytest.mark.parametrize("head", HEADS, ids=type)
def test_float_likelihood_sums_to_one(head):
    out = torch.randn(64, head.params, generator=torch.Generator().manual_seed(0)) * 2
    total = all_log_probs(head, out).exp().sum(dim=1)
    assert torch.allclose(total, torch.ones_like(total), atol=1e-6)


@pytest.mark.parametrize("scale_shift", [-4.0, 0.0, 3.0])
def test_integer_mixture_matches_float_mixture(scale_shift):
    """Sharp, medium and broad components: KL(float || integer) stays far below coding overhead."""
    head = LogisticMixtureHead(mixtures=5)
    out = torch.randn(200, head.params, generator=torch.Generator().manual_seed(1))
    out[:, 10:] += scale_shift
    logp = all_log_probs(head, out)
    w = head.class_weights(integer_outputs(head, out), head.tables()).double()
    int_logp = torch.log((w / w.sum(dim=1, keepdim=True)).clamp_min(2.0 ** -24))  # the coder's floor
    p = logp.exp()
    kl_bits = torch.where(p > 0, p * (logp - int_logp), 0.0).sum(dim=1) / math.log(2)
    assert kl_bits.mean() < 1e-3


def test_integer_mixture_weights_are_valid_for_extreme_outputs():
    head = LogisticMixtureHead(mixtures=10)
    q = torch.randint(-2 ** 40, 2 ** 40, (500, head.params), generator=torch.Generator().manual_seed(2))
    w = head.class_weights(q, head.tables())
    assert w.dtype == torch.int64 and w.shape == (500, NUM_CLASSES)
    assert w.min() >= 0 and w.max() <= TABLE_ONE
    assert (w.sum(dim=1) > 0).all()


def test_integer_mixture_is_the_same_in_chunks():
    head = LogisticMixtureHead(mixtures=3)
    q = integer_outputs(head, torch.randn(50, head.params, generator=torch.Generator().manual_seed(3)))
    t = head.tables()
    assert torch.equal(head.class_weights(q, t, chunk=7), head.class_weights(q, t))


@pytest.mark.parametrize("head", HEADS, ids=type)
@pytest.mark.parametrize("width", [1, 4, 64, NUM_CLASSES])
def test_a_range_of_classes_is_the_same_integers_as_the_whole_row(head, width):
    """The upscaling coder asks only for the classes inside the digits known so far; those integers must be
    the whole row's, bit for bit, at every start including the two ends."""
    g = torch.Generator().manual_seed(5)
    q = integer_outputs(head, torch.randn(300, head.params, generator=g) * 3)
    start = torch.randint(0, NUM_CLASSES - width + 1, (len(q),), generator=g)
    start[:2] = torch.tensor([0, NUM_CLASSES - width])
    t = head.tables()
    whole = head.class_weights(q, t)
    assert torch.equal(head.class_weights(q, t, start, width), whole.gather(1, start.unsqueeze(1) + torch.arange(width)))


def test_categorical_weights_peak_at_table_one():
    head = CategoricalHead()
    q = torch.randint(-500, 500, (20, NUM_CLASSES), generator=torch.Generator().manual_seed(4))
    w = head.class_weights(q, head.tables())
    assert (w.max(dim=1).values == TABLE_ONE).all()
    assert w.argmax(dim=1).tolist() == q.argmax(dim=1).tolist()


@pytest.mark.parametrize("head", HEADS, ids=type)
def test_interval_probability_is_the_sum_of_its_values(head):
    out = torch.randn(30, head.params, generator=torch.Generator().manual_seed(5)).double()
    logp = all_log_probs(head, out)
    g = torch.Generator().manual_seed(6)
    a, b = torch.randint(0, 256, (2, 30), generator=g)
    lo, hi = torch.minimum(a, b), torch.maximum(a, b)
    got = head.log_prob_interval(out.view(1, 30, head.params, 1, 1), lo.view(1, 30, 1, 1), hi.view(1, 30, 1, 1))
    v = torch.arange(256)
    want = torch.logsumexp(logp.masked_fill((v < lo[:, None]) | (v > hi[:, None]), float("-inf")), dim=1)
    assert torch.allclose(got.view(30), want, atol=1e-6)
