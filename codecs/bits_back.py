"""Bits-back coding (BB-ANS, Townsend et al. 2019) as a combinator of push/pop codecs.

A latent z is popped from the stack with the approximate posterior q(z|x) before x is pushed with
p(x|z) and z with the prior p(z); the decoder pops z and x and pushes z back with q, returning the
borrowed bits. Net cost per item: -log2 p(x|z) - log2 p(z) + log2 q(z|x), whose expectation under q
is the negative ELBO. The pop needs bits already on the stack (the "initial bits"); with too few,
constriction pops low symbols deterministically: still exact, but the bits are not given back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .ans import AnsCoder, Codec


@dataclass
class BitsBack:
    prior: Codec
    likelihood: Callable[[Any], Codec]  # z -> codec for x under p(x|z)
    posterior: Callable[[Any], Codec]  # x -> codec for z under q(z|x)

    def push(self, coder: AnsCoder, x: Any) -> None:
        z = self.posterior(x).pop(coder)
        self.likelihood(z).push(coder, x)
        self.prior.push(coder, z)

    def pop(self, coder: AnsCoder) -> Any:
        z = self.prior.pop(coder)
        x = self.likelihood(z).pop(coder)
        self.posterior(x).push(coder, z)
        return x


def bits_back(prior: Codec, likelihood: Callable[[Any], Codec], posterior: Callable[[Any], Codec]) -> BitsBack:
    return BitsBack(prior, likelihood, posterior)
