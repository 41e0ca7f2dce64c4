"""Frozen features: shapes, eval mode, no gradient, order of the images."""
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from disco_mm.evaluation import extract_frozen_features

NUM_IMAGES = 10


@pytest.fixture
def digits_loader(repo_root):
    """Returns a function building a loader of the first held-out digits."""

    def build(batch_size):
        cfg = Config.fromfile(
            f'{repo_root}/configs/_base_/datasets/digits_eval.py')
        loader_cfg = cfg.eval_test_dataloader
        loader_cfg.batch_size = batch_size
        loader_cfg.dataset.indices = NUM_IMAGES
        return Runner.build_dataloader(loader_cfg)

    return build


def test_shapes_labels_and_unit_embeddings(build_tiny, digits_loader):
    loader = digits_loader(batch_size=4)
    features = extract_frozen_features(build_tiny('MoCoV2Student'), loader)
    # The tiny ResNet-18 ends with 64 channels; its projector gives 4 dims.
    assert features.pooled.shape == (NUM_IMAGES, 64)
    assert features.embeddings.shape == (NUM_IMAGES, 4)
    assert torch.allclose(
        features.embeddings.norm(dim=1), torch.ones(NUM_IMAGES))
    expected_labels = [
        loader.dataset.get_data_info(i)['gt_label'] for i in range(NUM_IMAGES)
    ]
    assert features.labels.tolist() == expected_labels


def test_runs_in_eval_mode_and_restores_the_mode(build_tiny, digits_loader):
    model = build_tiny('MoCoV2Student')
    modes = []
    model.backbone.register_forward_pre_hook(
        lambda module, args: modes.append(module.training))
    extract_frozen_features(model, digits_loader(batch_size=4))
    assert modes and not any(modes)
    assert model.training and model.backbone.training


def test_features_do_not_depend_on_the_batch(build_tiny, digits_loader):
    # BatchNorm on running statistics: each image's feature is its own.
    model = build_tiny('MoCoV2Student')
    in_batches_of_4 = extract_frozen_features(model, digits_loader(4))
    in_one_batch = extract_frozen_features(model, digits_loader(NUM_IMAGES))
    assert torch.allclose(
        in_batches_of_4.pooled, in_one_batch.pooled, atol=1e-5)


def test_no_gradient_is_recorded(build_tiny, digits_loader):
    model = build_tiny('DisCo')
    features = extract_frozen_features(model, digits_loader(batch_size=4))
    assert not features.pooled.requires_grad
    assert not features.embeddings.requires_grad
    assert all(param.grad is None for param in model.parameters())


def test_student_without_projector_embeds_its_pooled_feature(
        build_tiny, digits_loader):
    # As CompRess-2q's student: the raw pooled backbone feature, normalised.
    model = build_tiny('MoCoV2Student')
    model.neck = None
    features = extract_frozen_features(model, digits_loader(batch_size=4))
    assert features.embeddings.shape == (NUM_IMAGES, 64)
    torch.testing.assert_close(
        features.embeddings,
        torch.nn.functional.normalize(features.pooled, dim=1))
