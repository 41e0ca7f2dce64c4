"""A reduced-precision teacher against the float32 one, on a config's data.

Two copies of a config's model start from the same weights: one with the
teacher in float32, one with ``model.teacher.precision`` set lower. Both
train on the same batches of the config's own training loader (its
dataset, pipeline, collate and workers) with the config's optimizer, and at
every step the tool records the cosine between the two teachers' embeddings
of the first view and each model's losses. The summary says how far apart
the embeddings and the loss curves are.
"""
import copy
import statistics
from typing import Dict, Iterator, List

import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.runner import Runner, set_random_seed
from mmengine.utils import ProgressBar
from mmpretrain.registry import MODELS


def build_pair(cfg: Config, precision: str) -> List[torch.nn.Module]:
    """Builds the float32-teacher model and its lower-precision twin.

    Args:
        cfg (Config): The training config (teacher checkpoint set).
        precision (str): ``model.teacher.precision`` of the twin.

    Returns:
        list: The two models, the twin second, with equal student weights.
    """
    init_default_scope('mmpretrain')
    set_random_seed(cfg.get('randomness', {}).get('seed') or 0)
    models = []
    for teacher_precision in ('fp32', precision):
        model_cfg = copy.deepcopy(cfg.model)
        model_cfg.teacher.precision = teacher_precision
        model = MODELS.build(model_cfg)
        model.init_weights()
        models.append(model.train())
    models[1].load_state_dict(models[0].state_dict())
    return models


def training_batches(loader, steps: int) -> Iterator[dict]:
    """Yields ``steps`` batches of a loader, over as many epochs as needed.

    Args:
        loader (DataLoader): A training loader; its sampler is told each new
            epoch, as the training loop does.
        steps (int): How many batches.

    Yields:
        dict: The batches.
    """
    epoch = 0
    while True:
        if hasattr(loader.sampler, 'set_epoch'):
            loader.sampler.set_epoch(epoch)
        for batch in loader:
            if steps == 0:
                return
            steps -= 1
            yield batch
        epoch += 1


def compare_teacher_precision(cfg: Config, precision: str,
                              steps: int) -> Dict:
    """Trains both models side by side for a few steps.

    Args:
        cfg (Config): The training config.
        precision (str): The twin teacher's precision.
        steps (int): Training steps (batches of the config's loader, over
            several epochs where it has fewer).

    Returns:
        dict: ``cosine`` (min and mean over every image of every step),
        ``losses`` (per loss name, the two curves), ``relative_gap`` (per
        loss name, the mean and largest ``|twin - fp32| / |fp32|``).
    """
    models = build_pair(cfg, precision)
    wrappers = [
        build_optim_wrapper(model, copy.deepcopy(cfg.optim_wrapper))
        for model in models
    ]
    loader = Runner.build_dataloader(cfg.train_dataloader)
    cosines: List[torch.Tensor] = []
    curves: Dict[str, List[List[float]]] = {}
    progress = ProgressBar(steps)
    for batch in training_batches(loader, steps):
        with torch.no_grad():
            view = models[0].data_preprocessor(batch, True)['inputs'][0]
            cosines.append(
                F.cosine_similarity(models[0].teacher(view),
                                    models[1].teacher(view)))
        for index, (model, wrapper) in enumerate(zip(models, wrappers)):
            losses = model.train_step(batch, wrapper)
            for name, value in losses.items():
                curve = curves.setdefault(name, [[], []])
                curve[index].append(float(value.detach()))
        progress.update()
    print(flush=True)
    every_cosine = torch.cat(cosines)
    return dict(
        precision=precision,
        steps=len(cosines),
        images=len(every_cosine),
        cosine=dict(
            min=float(every_cosine.min()), mean=float(every_cosine.mean())),
        losses={name: dict(fp32=fp32, twin=twin)
                for name, (fp32, twin) in curves.items()},
        relative_gap={
            name: _relative_gap(fp32, twin)
            for name, (fp32, twin) in curves.items()
        })


def _relative_gap(reference: List[float], other: List[float]) -> Dict:
    """Mean and largest ``|other - reference| / |reference|`` of curves."""
    gaps = [
        abs(b - a) / abs(a) for a, b in zip(reference, other) if a != 0
    ]
    return dict(mean=statistics.fmean(gaps), max=max(gaps))
