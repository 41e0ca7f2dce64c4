"""Online kNN accuracy of the student while it pretrains."""
import time
from contextlib import contextmanager
from typing import Iterator, Optional

import torch
from mmengine.dist import (all_gather_object, broadcast, get_world_size,
                           is_main_process)
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from mmpretrain.registry import HOOKS

from ...evaluation.features import FrozenFeatures, extract_frozen_features
from ...evaluation.knn import knn_top1
from .exact_resume_hook import random_states, set_random_states

#: What a feature can be: the pooled backbone output or the embedding.
FEATURES = ('pooled', 'embeddings')


@contextmanager
def buffers_of_process_0(modules) -> Iterator[None]:
    """Lends process 0's buffers to every process, then gives back their own.

    Distributed runs that do not broadcast buffers (e.g. disco_mm's CPU DDP)
    keep different BatchNorm statistics on each process; the checkpoint
    holds process 0's.

    Args:
        modules (list[nn.Module]): The modules whose buffers are lent.
    """
    buffers = [buffer for module in modules for buffer in module.buffers()]
    if get_world_size() == 1:
        yield
        return
    own = [buffer.clone() for buffer in buffers]
    for buffer in buffers:
        broadcast(buffer, src=0)
    try:
        yield
    finally:
        for buffer, saved in zip(buffers, own):
            buffer.copy_(saved)


def gather_features(features: FrozenFeatures,
                    size: int) -> Optional[FrozenFeatures]:
    """Collects every process's share of a data set's features, in order.

    Each process extracted the indices ``rank, rank + world_size, ...`` that
    mmengine's ``DefaultSampler`` (``shuffle=False``, ``round_up=True``)
    gives it, padded to equal length with repeats of the first images.

    Args:
        features (FrozenFeatures): This process's share.
        size (int): The data set's length; the padding beyond it is cut.

    Returns:
        FrozenFeatures: The whole data set's features in data set order on
        process 0; None on the others.
    """
    if get_world_size() == 1:
        return features
    shares = all_gather_object(
        (features.pooled, features.embeddings, features.labels))
    if not is_main_process():
        return None

    def interleave(tensors):
        return torch.stack(tensors, dim=1).flatten(0, 1)[:size]

    pooled, embeddings, labels = zip(*shares)
    return FrozenFeatures(
        pooled=interleave(pooled),
        embeddings=interleave(embeddings),
        labels=interleave(labels))


@HOOKS.register_module()
class KnnMonitorHook(Hook):
    """Logs the student's weighted-kNN top-1 every few training epochs.

    After every ``interval``-th epoch, the student backbone's frozen
    features of a labelled bank set and a query set are extracted (model in
    eval mode, no gradient) and each query is classified by the cosine-
    weighted vote of its ``k`` nearest bank entries
    (:func:`disco_mm.evaluation.knn_top1`). The accuracy, in percent, is
    logged as ``knn_top1``: a line ``Epoch(knn) [E] knn_top1: ...`` in the
    log, a record ``{"knn_top1": ..., "epoch": E, "step": E}`` in the
    visualizer's ``scalars.json`` and the scalar ``knn_top1`` in the message
    hub.

    The model's train/eval mode and the random states of Python, numpy and
    torch are restored afterwards, so that a run with the monitor trains
    exactly as one without (and resumes exactly, see ``ExactResumeHook``).

    In a distributed run each process extracts its share of both sets (the
    loaders' ``DefaultSampler`` shards them) with process 0's BatchNorm
    statistics (those its checkpoint keeps; each process gets its own back
    afterwards), process 0 gathers the shares, computes the accuracy and
    logs it; the others go on training. The result equals a one-process
    evaluation of process 0's model.

    Args:
        bank_dataloader (dict): Config of the labelled bank's data loader
            (e.g. the training split, one plain view per image, sampler
            ``DefaultSampler`` with ``shuffle=False``).
        query_dataloader (dict): Config of the queries' data loader (the
            held-out split), built like the bank's.
        interval (int): Evaluate after every ``interval`` epochs. Defaults
            to 10.
        k (int): Number of neighbours. Defaults to 20.
        temperature (float): Temperature of the vote weights. Defaults to
            0.07.
        feature (str): ``'pooled'`` (the pooled backbone output, what linear
            probes and kNN evaluations use) or ``'embeddings'`` (the
            L2-normalised projector output DisCo distils). Defaults to
            ``'pooled'``.
    """

    priority = 'NORMAL'

    def __init__(self,
                 bank_dataloader: dict,
                 query_dataloader: dict,
                 interval: int = 10,
                 k: int = 20,
                 temperature: float = 0.07,
                 feature: str = 'pooled') -> None:
        if feature not in FEATURES:
            raise ValueError(f'feature must be one of {FEATURES}, got '
                             f'{feature!r}')
        if interval < 1 or k < 1 or temperature <= 0:
            raise ValueError(
                'interval and k must be >= 1 and temperature > 0, got '
                f'interval={interval}, k={k}, temperature={temperature}')
        self.loader_cfgs = dict(bank=bank_dataloader, query=query_dataloader)
        self.interval = interval
        self.k = k
        self.temperature = temperature
        self.feature = feature
        self._loaders = None

    def after_train_epoch(self, runner) -> None:
        """Evaluates and logs after every ``interval``-th epoch."""
        if self.every_n_epochs(runner, self.interval):
            self.evaluate(runner)

    def _build_loaders(self, runner) -> dict:
        """Builds the bank and query loaders once, on first use."""
        if self._loaders is None:
            self._loaders = {
                name: Runner.build_dataloader(cfg, seed=runner.seed)
                for name, cfg in self.loader_cfgs.items()
            }
        return self._loaders

    def evaluate(self, runner) -> Optional[float]:
        """Computes the kNN top-1 of the current student and logs it.

        Args:
            runner (Runner): The training runner.

        Returns:
            float: The top-1 accuracy in percent on process 0, None on the
            other processes.
        """
        started = time.perf_counter()
        states = random_states()
        try:
            model = runner.model.module if is_model_wrapper(
                runner.model) else runner.model
            features = {}
            student = [model.backbone] + ([model.neck] if model.neck else [])
            with buffers_of_process_0(student):
                for name, loader in self._build_loaders(runner).items():
                    features[name] = gather_features(
                        extract_frozen_features(model, loader),
                        len(loader.dataset))
        finally:
            set_random_states(states)
        if features['bank'] is None:
            return None
        bank, query = features['bank'], features['query']
        top1 = knn_top1(
            getattr(bank, self.feature), bank.labels,
            getattr(query, self.feature), query.labels, self.k,
            self.temperature)
        epoch = runner.epoch + 1
        runner.message_hub.update_scalar('knn_top1', top1)
        runner.visualizer.add_scalars(
            dict(knn_top1=top1, epoch=epoch), step=epoch)
        runner.logger.info(
            f'Epoch(knn) [{epoch}]  knn_top1: {top1:.2f}  (k={self.k}, '
            f'T={self.temperature}, {self.feature} student features, bank '
            f'{len(bank.labels)} images, queries {len(query.labels)} '
            f'images, {time.perf_counter() - started:.1f} s)')
        return top1
