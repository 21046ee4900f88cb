"""Provenance of ardm-up4-c10-v2's card: where v1 lost 0.2 bits/dim (run from the repository root).

    python compressor/weights/ardm-up4-c10-v2.train/check_plan.py RUN_DIR > check_plan.log

RUN_DIR is the up4 training run (config.json, checkpoint.pt; not shipped: 7 MB). Part 1 compares,
on 6 spread CIFAR-10 test images x 8 random (step, order) states per stage, the integer coding path's
conditional digit NLL (UpscaleARDM.condition, quantized as the coder does) with the float network's.
Part 2 codes the same images (model NLL) with v1's plan (tracker L_t, even stage shares), even splits,
and v2's plan (measured L_t, planned shares).
"""
import json
import math
import sys

import numpy as np
import torch

import ardmzip.models.data as D
from ardmzip.codecs.autoregressive import AutoregressiveCodec
from ardmzip.codecs.quantize import quantize_probabilities
from ardmzip.models.ardm_net import ARDMNet, NetConfig, fraction_level, interval_inputs
from ardmzip.models.coding_model import load_coding_model
from ardmzip.models.integer_net import IntegerARDMNet
from ardmzip.models.upscale import Digits, UpscaleARDM

torch.set_num_threads(1)
run = sys.argv[1]
cfg = json.load(open(f"{run}/config.json"))
net = ARDMNet(NetConfig.from_dict(cfg["net"]))
net.load_state_dict(torch.load(f"{run}/checkpoint.pt", weights_only=True)["net"])
net.eval()
model, digits = UpscaleARDM(IntegerARDMNet.from_float(net), net.config.branching), Digits(net.config.branching)
test = D.cifar10_test("/work/shared/data")
images = [test[i] for i in D.spread_subset(len(test), 6)]
rng, S = np.random.default_rng(0), digits.stages
sums = np.zeros((S, 2))
for img in images:
    h, w, c = img.shape
    d = h * w * c
    sym = digits.split(img.astype(np.int64))
    for s in list(range(S)) * 8:
        t = int(rng.integers(0, d))
        up = np.zeros(d, bool)
        up[rng.permutation(d)[:t]] = True
        up = up.reshape(h, w, c)
        known = np.zeros((S, h, w, c), bool)
        known[:s], known[s] = True, up
        hid = np.flatnonzero(~up.reshape(-1))
        q = quantize_probabilities(model.condition(sym, known)(s * d + hid))
        target = sym[s].reshape(-1)[hid]
        integer_bits = -np.log2(q[np.arange(len(hid)), target] / 2.0 ** 24)
        x = torch.from_numpy(img).permute(2, 0, 1)[None].long()
        k = s + torch.from_numpy(up).permute(2, 0, 1)[None].long()
        with torch.no_grad():
            out = net(interval_inputs(*digits.interval(x, k), digits.level(k), fraction_level(torch.tensor([s * d + t]), S * d)))
            lp = net.output.log_prob_interval(out, *digits.interval(x, torch.full_like(k, s + 1))) \
                - net.output.log_prob_interval(out, *digits.interval(x, torch.full_like(k, s)))
        float_bits = (-lp[0].permute(1, 2, 0).reshape(-1)[hid] / math.log(2)).double().numpy()
        sums[s] += integer_bits.mean(), float_bits.mean()
sums /= 8 * len(images)
for s in range(S):
    print(f"stage {s}: integer {sums[s, 0]:.4f} float {sums[s, 1]:.4f} bits/digit (difference {sums[s, 0] - sums[s, 1]:+.4f})")
print(f"sum over stages (bits/dim): integer {sums[:, 0].sum():.4f} float {sums[:, 1].sum():.4f}")


def nll(m, budget):
    return sum(AutoregressiveCodec(m, img.shape, budget).ideal_bits(img.astype(np.int64)) for img in images) / (6 * images[0].size)


v1 = load_coding_model("compressor/weights/ardm-up4-c10-v1.safetensors")
v2 = load_coding_model("compressor/weights/ardm-up4-c10-v2.safetensors")
even = UpscaleARDM(v1.net, 4)
for budget in (8, 20, 32, 100, 400):
    print(f"budget {budget}: v1 plan {nll(v1, budget):.4f}  even splits {nll(even, budget):.4f}  v2 plan {nll(v2, budget):.4f}",
          flush=True)
