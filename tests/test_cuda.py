"""GPU portability, where CUDA is present (skipped elsewhere, as on this project's machines): the shipped
network's integers are the same on the GPU as on the CPU, and a file coded with the GPU decodes on the CPU."""

import numpy as np
import pytest
import torch

import ardmzip
from ardmzip.models.ardm_net import fraction_level, network_inputs
from ardmzip.models.integer_net import IntegerARDMNet
from ardmzip.registry import REGISTRY
from test_image_planes import photo

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


class GpuNetwork:
    """The integer network with its convolutions on the GPU; the rest stays on the CPU."""

    def __init__(self, net: IntegerARDMNet):
        self.cpu = net
        self.gpu = IntegerARDMNet({k: v.cuda() for k, v in net.t.items()}, net.config)

    def features(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.gpu.features(inputs.cuda()).cpu()

    def __getattr__(self, name):
        return getattr(self.cpu, name)


@pytest.fixture(scope="module")
def shipped():
    return REGISTRY.load(REGISTRY.get())


@pytest.mark.parametrize("cudnn_benchmark", [False, True])  # cuDNN's heuristic choice, then its fastest kernels
@pytest.mark.parametrize("batch,h,w", [(2, 32, 32), (1, 17, 33), (3, 64, 48)])
def test_gpu_features_equal_cpu_features(shipped, cudnn_benchmark, batch, h, w):
    g = torch.Generator().manual_seed(h * w)
    x = torch.randint(0, 256, (batch, 3, h, w), generator=g)
    vis = torch.rand(batch, 3, h, w, generator=g) < torch.rand(batch, 1, 1, 1, generator=g)
    inputs = network_inputs(x, vis, fraction_level(vis.flatten(1).sum(1), 3 * h * w))
    with torch.backends.cudnn.flags(enabled=True, benchmark=cudnn_benchmark):
        gpu = GpuNetwork(shipped.net).features(inputs)
    assert torch.equal(gpu, shipped.net.features(inputs))


def test_file_coded_on_gpu_decodes_on_cpu(shipped, monkeypatch):
    im = photo("RGBA")
    cpu_bytes = ardmzip.compress(im, budget=6)
    monkeypatch.setattr(shipped, "net", GpuNetwork(shipped.net))
    gpu_bytes = ardmzip.compress(im, budget=6)
    monkeypatch.undo()
    assert gpu_bytes == cpu_bytes
    assert np.array_equal(np.asarray(ardmzip.decompress(gpu_bytes)), np.asarray(im))
