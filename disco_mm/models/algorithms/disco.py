"""DisCo: Distilled Contrastive Learning (Gao et al., ECCV 2022)."""
from typing import Dict, Iterator, List, Union

import torch
from mmengine.optim import OptimWrapper
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample
from torch import nn

from ...checkpoints import read_teacher_queue
from .mocov2_student import MoCoV2Student


@MODELS.register_module()
class DisCo(MoCoV2Student):
    """A MoCo-v2 student that also matches a frozen teacher's embedding.

    Per step, with views ``x1`` and ``x2`` and unit-length embeddings::

        loss_contrastive = CE([q1.k, q1.queue] / tau, 0)
        loss_distill     = d(q1, t1) + d(q2, t2)

    ``q = student(x)`` (two passes with gradient), ``k`` from the momentum
    key encoder on ``x2``, ``t = teacher(x)`` without gradient and ``d`` the
    ``distill_loss`` (squared error). Only the final embedding is distilled.

    A training step (:meth:`train_step`) runs the passes without gradient
    first, then each student pass followed at once by the backward pass of
    its terms: only one student pass's activations are held at a time,
    which lowers the step's peak memory (see ``docs/benchmarks.md``). The
    gradients are those of the summed loss, bit for bit (with gradient
    accumulation up to float rounding: the steps' gradients add up in
    another order). A model wrapped for distributed training runs
    :meth:`loss` in one graph instead.

    Args:
        teacher (dict): Config of the :class:`FrozenTeacher`.
        distill_loss (dict): Config of the distillation loss. Defaults to
            :class:`EmbeddingDistillLoss` with the official sum reduction.
        queue_from_teacher (bool): The official code's quirk: the queue
            starts as the MoCo teacher checkpoint's queue (the teacher's
            keys and write position), and is set to it again whenever a
            checkpoint is loaded, a resumed one included. Defaults to False.
        **kwargs: The MoCo-v2 student's arguments (``backbone``, ``neck``
            with the widened projector, ``head``, ``key_encoder``,
            ``queue``, ...), see :class:`MoCoV2Student`.
    """

    def __init__(self,
                 teacher: dict,
                 distill_loss: dict = dict(type='EmbeddingDistillLoss'),
                 queue_from_teacher: bool = False,
                 **kwargs) -> None:
        super().__init__(teacher=teacher, distill_loss=distill_loss, **kwargs)
        if queue_from_teacher:
            self._start_queue_from_teacher()

    def _start_queue_from_teacher(self) -> None:
        """Copies the teacher's queue now and at every checkpoint load.

        Raises:
            ValueError: The teacher's queue has another shape.
        """
        keys, pointer = read_teacher_queue(self.teacher.checkpoint)
        if keys.shape != self.queue.embeddings.shape:
            raise ValueError(
                f'model.queue_from_teacher copies the queue of '
                f'{self.teacher.checkpoint}, {tuple(keys.shape)} (length x '
                f'dim), into the student\'s, '
                f'{tuple(self.queue.embeddings.shape)}: set '
                'model.queue.length to the teacher\'s length.')
        teacher_queue = dict(embeddings=keys, pointer=torch.tensor([pointer]))

        def put_teacher_queue(module: nn.Module, state_dict: dict,
                              prefix: str, *args) -> None:
            for name, value in teacher_queue.items():
                state_dict[prefix + name] = value

        self.queue.register_load_state_dict_pre_hook(put_teacher_queue)
        self.queue.load_state_dict(teacher_queue)

    def train_step(self, data: Union[dict, tuple, list],
                   optim_wrapper: OptimWrapper) -> Dict[str, torch.Tensor]:
        """Runs one step, backpropagating each student pass on its own.

        mmengine's ``BaseModel.train_step`` with the terms of
        :meth:`losses_by_view` backpropagated one view at a time, each
        scaled as the optimizer wrapper scales a loss (gradient
        accumulation, and its loss scaler when it has one). The step is
        counted once, by the wrapper's ``backward`` of the last view.

        Args:
            data (dict or tuple or list): A batch from the data loader.
            optim_wrapper (OptimWrapper): The student's optimizer wrapper.

        Returns:
            dict[str, torch.Tensor]: The logged losses, as after
            :meth:`loss`: ``loss``, ``loss_contrastive``, ``loss_distill``.
        """
        with optim_wrapper.optim_context(self):
            inputs = self.data_preprocessor(data, True)['inputs']
        views = self.losses_by_view(inputs)
        loss_scaler = getattr(optim_wrapper, 'loss_scaler', None)
        logged = []
        for index in range(len(inputs)):
            with optim_wrapper.optim_context(self):
                terms = next(views)
            logged.append(
                {name: value.detach()
                 for name, value in terms.items()})
            loss = optim_wrapper.scale_loss(sum(terms.values()))
            if index < len(inputs) - 1:
                (loss_scaler.scale(loss) if loss_scaler else loss).backward()
            else:
                optim_wrapper.backward(loss)
        if optim_wrapper.should_update():
            optim_wrapper.step()
            optim_wrapper.zero_grad()
        return self.parse_losses(summed_by_name(logged))[1]

    def losses_by_view(
            self,
            inputs: List[torch.Tensor]) -> Iterator[Dict[str, torch.Tensor]]:
        """Yields the loss terms of each view's student pass in turn.

        The key encoder and the teacher run first, so that their working
        memory is free again before the student's passes keep their
        activations; the keys are enqueued once view 1's contrastive term
        has used the queue.

        Args:
            inputs (list[torch.Tensor]): The two augmented views.

        Yields:
            dict[str, torch.Tensor]: View 1's terms (``loss_contrastive``
            and ``loss_distill``), then view 2's (``loss_distill``).
        """
        view_1, view_2 = inputs
        key = self.key_encoder(view_2)
        teacher_1, teacher_2 = self.teacher(view_1), self.teacher(view_2)
        query_1 = self.embed(view_1)
        yield dict(
            loss_contrastive=self.contrastive_loss(query_1, key),
            loss_distill=self.distill_loss(query_1, teacher_1))
        self.queue.enqueue(key)
        yield dict(
            loss_distill=self.distill_loss(self.embed(view_2), teacher_2))

    def loss(self, inputs: List[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Computes both DisCo terms and enqueues this step's keys.

        Args:
            inputs (list[torch.Tensor]): The two augmented views.
            data_samples (list[DataSample]): Unused.

        Returns:
            dict[str, torch.Tensor]: ``loss_contrastive`` and
            ``loss_distill``.
        """
        return summed_by_name(self.losses_by_view(inputs))


def summed_by_name(
        parts: Iterator[Dict[str, torch.Tensor]]) -> Dict[str, torch.Tensor]:
    """Adds up loss terms of the same name, in the order they come."""
    total = {}
    for part in parts:
        for name, value in part.items():
            total[name] = total[name] + value if name in total else value
    return total
