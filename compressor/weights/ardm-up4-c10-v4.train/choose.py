"""Compare model files on CIFAR-10 *training* images (no test image decides): file bits and model NLL per budget.

python choose.py N BUDGETS MODEL... (BUDGETS comma-separated; each MODEL a registry name or a file)."""
import sys
import numpy as np, torch
import ardmzip
from ardmzip.models.data import cifar10_train

torch.set_num_threads(2)
train = cifar10_train("../shared/data")
idx = np.random.default_rng(7).choice(len(train), int(sys.argv[1]), replace=False)
for budget in (int(b) for b in sys.argv[2].split(",")):
    for model in sys.argv[3:]:
        total = nll = 0.0
        for i in idx:
            data, bits = ardmzip.compress_measured(train[i], model=model, budget=budget)
            assert np.array_equal(np.asarray(ardmzip.decompress(data, model=model)), train[i])
            total += len(data) * 8; nll += bits
        d = len(idx) * train[0].size
        print(f"{model} budget {budget}: {total / d:.4f} bits/dim (NLL {nll / d:.4f}) on {len(idx)} training images", flush=True)
