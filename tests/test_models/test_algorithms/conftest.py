"""A MoCo-v2 step recomputed by hand from an algorithm's own submodules."""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import default_collate
from mmengine.optim import build_optim_wrapper
from mmpretrain.registry import DATASETS, MODELS
from torch.utils.data import DataLoader

from queues import shrink_queues


def unit(vectors):
    """Divides each row by its Euclidean length."""
    return vectors / vectors.pow(2).sum(dim=1, keepdim=True).sqrt()


def hand_embedding(backbone, neck, images):
    """Unit projector output, or without a projector the pooled feature."""
    features = backbone(images)
    return unit(features[-1].mean((2, 3)) if neck is None else
                neck(features)[0])


def info_nce(query, key, queue, temperature):
    """Cross-entropy of ``[q.k, q.queue] / tau`` against index 0, by hand.

    Args:
        query (torch.Tensor): NxD unit queries.
        key (torch.Tensor): NxD unit keys.
        queue (torch.Tensor): KxD unit negatives.
        temperature (float): tau.

    Returns:
        torch.Tensor: The mean over the batch of ``logsumexp - positive``.
    """
    positive = (query * key).sum(dim=1, keepdim=True)
    logits = torch.cat([positive, query @ queue.t()], dim=1) / temperature
    return (logits.exp().sum(dim=1).log() - logits[:, 0]).mean()


@pytest.fixture
def reference_step():
    """Returns a function that recomputes one step of a momentum student.

    The function takes the model *before* its ``loss()`` call and the two
    views, and works on a deep copy so the model itself is not touched.
    Momentum (0.9) and temperature (0.2) are those the tiny models are
    built with, not read back from the model.
    It applies ``key = m * key + (1 - m) * query`` to the copy's key
    encoder parameter by parameter and encodes view 2 without any shuffle:
    in train mode BatchNorm normalises with the statistics of the whole
    batch, which do not depend on the order of the samples, so the
    shuffle-BN of the key encoder (shuffle, encode, unshuffle) gives the
    same keys. A model without a projector (CompRess-2q) is embedded by
    its pooled backbone feature. It returns a dict with the unit
    embeddings ``query_1``, ``query_2``, ``key``, for a model with a
    ``queue`` the hand ``loss_contrastive`` and, when the model has a
    teacher, ``teacher_1`` and ``teacher_2``.
    """

    def step(model, view_1, view_2, momentum=0.9, temperature=0.2):
        model = copy.deepcopy(model)
        key_encoder = model.key_encoder
        student = [*model.backbone.parameters()]
        key_params = [*key_encoder.backbone.parameters()]
        if model.neck is not None:
            student += model.neck.parameters()
            key_params += key_encoder.neck.parameters()
        assert len(student) == len(key_params)
        with torch.no_grad():
            for key_param, query_param in zip(key_params, student):
                key_param.copy_(momentum * key_param +
                                (1 - momentum) * query_param)
            result = dict(
                query_1=hand_embedding(model.backbone, model.neck, view_1),
                query_2=hand_embedding(model.backbone, model.neck, view_2),
                key=hand_embedding(key_encoder.backbone, key_encoder.neck,
                                   view_2))
            queue = getattr(model, 'queue', None)
            if queue is not None:
                result['loss_contrastive'] = info_nce(
                    result['query_1'], result['key'], queue.embeddings,
                    temperature)
            teacher = model.teacher
            if teacher is not None:
                assert not teacher.training
                for name, images in (('teacher_1', view_1), ('teacher_2',
                                                             view_2)):
                    result[name] = hand_embedding(teacher.backbone,
                                                  teacher.neck, images)
        return result

    return step


@pytest.fixture
def views():
    """Two views of 4 random 16x16 images in float64."""
    return (torch.randn(4, 3, 16, 16, dtype=torch.float64),
            torch.randn(4, 3, 16, 16, dtype=torch.float64))


@pytest.fixture
def prepare():
    """Returns a function that readies a model for exact hand checks.

    The model is moved to float64, so that the hand computation may sum in
    another order (e.g. BatchNorm statistics of an unshuffled batch) and
    still agree to 1e-9. Its key encoder, if it has one, is moved off the
    student: right after ``init_weights`` the two are equal, and a momentum
    update would leave the key encoder unchanged whatever the rule.
    """

    def prepare_model(model):
        model.double()
        key_encoder = getattr(model, 'key_encoder', None)
        with torch.no_grad():
            for param in (key_encoder.parameters() if key_encoder else ()):
                param.add_(0.1 * torch.randn_like(param))
        return model

    return prepare_model


@pytest.fixture
def tiny_frozen_teacher(tiny_cfg, tiny_teacher):
    """Config of a :class:`FrozenTeacher` loading the tiny teacher.

    Keyword arguments override it, e.g. ``neck=None`` for the pooled
    64-d backbone feature.
    """

    def teacher(**overrides):
        return dict(
            dict(
                type='FrozenTeacher',
                backbone=tiny_cfg['backbone'],
                neck=tiny_cfg['neck'],
                checkpoint=tiny_teacher[0]), **overrides)

    return teacher


@pytest.fixture
def digits_two_steps(repo_root, digits_teacher):
    """Returns a function that trains a digits config for 2 iterations.

    The function takes a config under ``configs/`` and builds its model,
    its optimizer and its training pipeline on 16 digits in batches of 8,
    with the session's random digits teacher and every queue 24 long; it
    runs ``train_step`` on both batches and returns
    the model, the model as initialised and the two steps' logged losses.
    """

    def train(config):
        cfg = Config.fromfile(osp.join(repo_root, 'configs', config))
        cfg.model.teacher.checkpoint = digits_teacher[0]
        shrink_queues(cfg.model, 24)
        model = MODELS.build(cfg.model)
        model.init_weights()
        model.train()
        initial = copy.deepcopy(model)
        dataset = DATASETS.build(dict(cfg.train_dataloader.dataset,
                                      indices=16))
        loader = DataLoader(dataset, batch_size=8, collate_fn=default_collate)
        optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
        logs = [model.train_step(batch, optim_wrapper) for batch in loader]
        return model, initial, logs

    return train


@pytest.fixture
def embeddings_by_hand():
    """Returns a function giving a model's unit embeddings of a batch.

    The function takes a model before its ``loss()`` call and images, and
    returns the student's and the teacher's unit embeddings (the teacher's
    projection, or its pooled backbone feature without a projector),
    computed on a copy so the model's BatchNorm statistics stay as they
    were.
    """

    def embed(model, images):
        model = copy.deepcopy(model)
        teacher = model.teacher
        with torch.no_grad():
            return (hand_embedding(model.backbone, model.neck, images),
                    hand_embedding(teacher.backbone, teacher.neck, images))

    return embed
