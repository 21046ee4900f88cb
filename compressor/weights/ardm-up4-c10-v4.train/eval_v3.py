"""v3's weights under the run's objective and evaluation draws (the same 500 test images, reported only)."""
import json, sys
import torch
from ardmzip.models.ardm_net import ARDMNet, NetConfig
from ardmzip.models.data import cifar10_test, spread_subset
from ardmzip.models.integer_net import float_state_dict
from ardmzip.models.run_loop import to_nchw
from ardmzip.models.serialization import load_model
from ardmzip.models.train import TrainConfig, evaluate
from safetensors.torch import load_file

torch.set_num_threads(1)
path = sys.argv[1]
run_cfg = json.loads(open(sys.argv[2]).read())["train"]
plans = TrainConfig(order=run_cfg["order"], budgets=tuple(run_cfg["budgets"]), plan_step_loss=tuple(run_cfg["plan_step_loss"])).plans()
inet = load_model(path)
net = ARDMNet(inet.config)
net.load_state_dict(float_state_dict(load_file(path), inet.config))
net.eval()
x = cifar10_test("../shared/data")
imgs = to_nchw(x[spread_subset(len(x), 500)])
for grey in (0.0, 1.0):
    print(path, "grey" if grey else "colour", round(evaluate(net, imgs, family=run_cfg["order"], plans=plans, grey=grey), 4), flush=True)
