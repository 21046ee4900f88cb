"""Choose the up4 export's order family on CIFAR-10 *training* images (no test image decides)."""
import sys
import numpy as np, torch
import ardmzip
from ardmzip.models.data import cifar10_train

torch.set_num_threads(2)
train = cifar10_train("../shared/data")
idx = np.random.default_rng(7).choice(len(train), int(sys.argv[1]), replace=False)
for path in sys.argv[2:]:
    for budget in (10, 32):
        total = nll = 0.0
        for i in idx:
            data, bits = ardmzip.compress_measured(train[i], model=path, budget=budget)
            assert np.array_equal(np.asarray(ardmzip.decompress(data, model=path)), train[i])
            total += len(data) * 8; nll += bits
        d = len(idx) * train[0].size
        print(f"{path} budget {budget}: {total / d:.4f} bits/dim (NLL {nll / d:.4f}) on {len(idx)} training images", flush=True)
