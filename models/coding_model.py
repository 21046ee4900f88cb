"""A model file as the coder's model: plain order-agnostic or depth-upscaling ARDM, planned or not, or a discrete flow.

What it returns satisfies ``ardmzip.codecs.coding_model``'s protocols by its shape (this package imports
no coder): an ARDM is a ``SteppedModel``, a flow a ``LatentModel``, each telling its ``kind`` (tested for
every shipped model).
"""

from __future__ import annotations

from pathlib import Path
from typing import Union

from .ardm import OrderAgnosticARDM
from .exact_flow import ExactFlow
from .flow_files import FAMILIES as FLOW_FAMILIES, flow
from .orders import RANDOM
from .serialization import info_of, network, read
from .upscale import UpscaleARDM

PLANNED = "planned"  # a model file's info["schedule"] value that turns the budget planner on
# info["stage_budgets"] = PLANNED: an upscaling model also splits the budget between stages by its L_t
LoadedModel = Union[OrderAgnosticARDM, UpscaleARDM, ExactFlow]


def load_coding_model(source: str | Path | bytes) -> LoadedModel:
    """The coding model of a model file, or of its bytes (read once: a caller that hashes them loads the
    very bytes it checked). The file says whether its budget is planned; one that does not say so gets even
    splits, as models made before the planner were coded (docs/how-it-works.md, Budget planner)."""
    name = "model file" if isinstance(source, bytes) else source
    meta, tensors = read(source if isinstance(source, bytes) else Path(source).read_bytes())
    if meta.get("family") in FLOW_FAMILIES:
        return flow(meta, tensors, name)
    info = info_of(meta)
    net = network(meta, tensors, name)
    loss = None
    if info.get("schedule") == PLANNED:
        loss = info.get("step_loss_bits")
        if not (isinstance(loss, list) and 1 <= len(loss) <= 4096
                and all(isinstance(v, (int, float)) and 0 <= v <= 64 for v in loss)):
            raise ValueError("model file's step_loss_bits must be 1 to 4096 numbers in [0, 64]")
    order = info.get("order", RANDOM)  # a file naming no family predates them: random orders
    if net.config.branching == 256:
        return OrderAgnosticARDM(net, loss, order_family=order)
    return UpscaleARDM(net, net.config.branching, loss, share_by_loss=info.get("stage_budgets") == PLANNED,
                       order_family=order)
