"""DisCo's distillation term on any mmpretrain self-supervised algorithm."""
from typing import Dict, List, Optional, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample
from torch import nn

from ..utils import feature_width, linear_widths

#: Where the distilled embedding is read: ``distill_from`` -> the path of
#: the student's module whose output it is.
DISTILL_POINTS = {'projector': 'neck', 'predictor': 'head.predictor'}


@MODELS.register_module()
class DistilledSelfSup(BaseModel):
    """An mmpretrain self-supervised student plus DisCo's distillation.

    The student (``BYOL``, ``SimSiam``, ``MoCo``, ...) computes its own
    loss unchanged; on the same views, each embedding the student computes
    at ``distill_from`` is L2-normalised and matched to the frozen
    teacher's embedding of that view::

        losses        = student.loss(views)   # its 'loss' as 'loss_student'
        loss_distill  = sum_v d(normalize(z_v), teacher(x_v))

    ``z_v`` is caught by a forward hook on the student's projector (``neck``)
    or predictor (``head.predictor``), so the student runs once, with its
    own BatchNorm batches, and the teacher sees exactly the preprocessed
    views the student saw, one view at a time. The student's calls of that
    module must cover the views in their order, each call one view (BYOL,
    SimSiam: their momentum / target branches are separate modules) or
    several at once (SwAV projects all its multi-crop views in one call):
    their outputs, concatenated, have one row per image of each view.
    ``view_reduction='mean'`` averages the views' terms instead of summing
    them (the official DisCo-on-SwAV code takes one mean over all crops).

    The student's modules are this model's own children (``backbone``,
    ``neck``, ``head``, ``target_net``, ``data_preprocessor``), so
    checkpoints hold ``backbone.*`` as for every other algorithm and
    linear-eval configs load them with ``prefix='backbone.'``. A student
    that keeps parameters or buffers on itself (mmpretrain's MoCo and its
    queue) is refused at build time.

    Args:
        student (dict): Config of the mmpretrain self-supervised algorithm.
        teacher (dict): Config of the :class:`FrozenTeacher`.
        distill_loss (dict): Config of the distillation loss. Defaults to
            :class:`EmbeddingDistillLoss` with its defaults: the sum DisCo
            uses with MoCo, scaled to 32 images a process.
        distill_from (str): ``'projector'`` or ``'predictor'``. Defaults
            to ``'projector'``.
        view_reduction (str): How the views' terms make ``loss_distill``:
            ``'sum'`` (DisCo) or ``'mean'``. Defaults to ``'sum'``.
        data_preprocessor (dict, optional): The preprocessor, given to the
            student unless its config has one. Defaults to None.
        init_cfg (dict, optional): Unused; the student initialises itself
            from its own config. Defaults to None.
    """

    def __init__(self,
                 student: dict,
                 teacher: dict,
                 distill_loss: dict = dict(type='EmbeddingDistillLoss'),
                 distill_from: str = 'projector',
                 view_reduction: str = 'sum',
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if distill_from not in DISTILL_POINTS:
            raise ValueError(
                f'model.distill_from must be one of {sorted(DISTILL_POINTS)},'
                f' got {distill_from!r}')
        if view_reduction not in ('sum', 'mean'):
            raise ValueError(
                "model.view_reduction must be 'sum' or 'mean', got "
                f'{view_reduction!r}')
        student = dict(student)
        if data_preprocessor is not None:
            student.setdefault('data_preprocessor', data_preprocessor)
        built = MODELS.build(student)
        own_state = [
            name for name, _ in (*built.named_parameters(recurse=False),
                                 *built.named_buffers(recurse=False))
        ]
        if own_state:
            raise ValueError(
                f'{type(built).__name__} keeps {own_state} on itself, not in '
                'a submodule; DistilledSelfSup can only adopt students whose '
                'state lives in submodules (BYOL, SimSiam, MoCoV3). For MoCo '
                '(v1/v2) use DisCo, which has its own queue.')
        # The student object runs its own loss(); its modules are
        # registered here, not the object itself, so that parameters and
        # checkpoint keys carry no extra prefix.
        self.__dict__['student'] = built
        for name, child in built.named_children():
            self.add_module(name, child)
        self.teacher = MODELS.build(teacher)
        self.distill_loss = MODELS.build(distill_loss)
        self.distill_from = distill_from
        self.view_reduction = view_reduction
        self._check_widths()

    @property
    def distill_point(self) -> nn.Module:
        """The student's module whose output is distilled."""
        return self.get_submodule(DISTILL_POINTS[self.distill_from])

    def _check_widths(self) -> None:
        """Refuses a student embedding of another width than the teacher's.

        Raises:
            ValueError: The widths differ; the message names the fields.
        """
        student_widths = linear_widths(self.distill_point)
        teacher_widths = (linear_widths(self.teacher.neck)
                          if self.teacher.neck is not None else None)
        teacher_dim = (teacher_widths[1] if teacher_widths else feature_width(
            self.teacher.backbone))
        if student_widths and student_widths[1] != teacher_dim:
            raise ValueError(
                f'The student\'s {self.distill_from} (model.student.'
                f'{DISTILL_POINTS[self.distill_from]}) gives '
                f'{student_widths[1]} dimensions and the teacher\'s '
                f'embedding {teacher_dim}: set its out_channels to '
                f'{teacher_dim} so the student can match the teacher.')

    def init_weights(self) -> None:
        """Initialises the student as it would initialise itself."""
        self.student.init_weights()

    def forward(self,
                inputs: Union[torch.Tensor, List[torch.Tensor]],
                data_samples: Optional[List[DataSample]] = None,
                mode: str = 'tensor'):
        """Runs :meth:`loss` for ``mode='loss'``, else the student.

        Args:
            inputs (torch.Tensor or list[torch.Tensor]): The views.
            data_samples (list[DataSample], optional): The samples.
            mode (str): ``'loss'``, ``'tensor'`` or ``'predict'``.
                Defaults to ``'tensor'``.

        Returns:
            The losses for ``'loss'``, else the student's output.
        """
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        return self.student(inputs, data_samples, mode=mode)

    def loss(self, inputs: List[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """The student's own losses and ``loss_distill``.

        Args:
            inputs (list[torch.Tensor]): The student's views.
            data_samples (list[DataSample]): Passed to the student.

        Returns:
            dict[str, torch.Tensor]: The student's entries, its plain
            ``loss`` renamed ``loss_student`` (mmengine logs the total as
            ``loss``), and ``loss_distill``.
        """
        embeddings = []
        handle = self.distill_point.register_forward_hook(
            lambda module, args, output: embeddings.append(
                output[0] if isinstance(output, (tuple, list)) else output))
        try:
            losses = {
                'loss_student' if name == 'loss' else name: value
                for name, value in self.student.loss(inputs, data_samples,
                                                     **kwargs).items()
            }
        finally:
            handle.remove()
        view_sizes = [len(view) for view in inputs]
        rows = sum(len(embedding) for embedding in embeddings)
        if rows != sum(view_sizes):
            raise RuntimeError(
                f'{type(self.student).__name__} called its '
                f'{self.distill_from} {len(embeddings)} times, on {rows} '
                f'images, for {len(inputs)} views of {sum(view_sizes)} '
                'images; DistilledSelfSup needs every view, in order. '
                'Distil from the other point (model.distill_from) or write '
                'a dedicated algorithm.')
        total = sum(
            self.distill_loss(F.normalize(embedding, dim=1),
                              self.teacher(view))
            for embedding, view in zip(
                torch.cat(embeddings).split(view_sizes), inputs))
        losses['loss_distill'] = (total if self.view_reduction == 'sum' else
                                  total / len(inputs))
        return losses
