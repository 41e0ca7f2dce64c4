"""t-SNE maps and training curves: the PNGs and what they show."""
import json
import os
import os.path as osp
import sys

import pytest
import torch
from PIL import Image

from disco_mm.evaluation.pictures import (DPI, PANEL_SIZE, EmbeddingPanel,
                                          draw_embedding_maps,
                                          draw_training_curves,
                                          read_epoch_scalars, tsne_map)

PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'


def assert_png(path, panels):
    """The file is a PNG as wide as ``panels`` panels side by side."""
    with open(path, 'rb') as file:
        assert file.read(8) == PNG_SIGNATURE
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.format == 'PNG'
        assert image.size == (round(PANEL_SIZE[0] * panels * DPI),
                              round(PANEL_SIZE[1] * DPI))


def clusters(count=3, per_class=8, dim=6):
    """Points around ``count`` orthogonal directions, with their labels."""
    generator = torch.Generator().manual_seed(0)
    centres = torch.eye(dim)[:count] * 5
    labels = torch.arange(count).repeat_interleave(per_class)
    points = centres[labels] + 0.3 * torch.randn(
        len(labels), dim, generator=generator)
    return points, labels


def test_tsne_keeps_separated_classes_apart():
    points, labels = clusters()
    mapped = torch.from_numpy(tsne_map(points))
    distances = torch.cdist(mapped, mapped)
    distances.fill_diagonal_(float('inf'))
    # Every point's nearest neighbour on the map is of its own class.
    assert torch.equal(labels[distances.argmin(dim=1)], labels)


def test_embedding_maps_png_has_one_panel_per_model(tmp_path):
    points, labels = clusters()
    panels = [
        EmbeddingPanel(title, points + shift, labels)
        for title, shift in (('teacher', 0.0), ('MoCo-v2 student', 0.1),
                             ('DisCo student', -0.1))
    ]
    path = str(tmp_path / 'embeddings.png')
    figure = draw_embedding_maps(panels, path)
    assert_png(path, panels=3)
    assert [axes.get_title() for axes in figure.axes] == [
        'teacher', 'MoCo-v2 student', 'DisCo student'
    ]
    for axes in figure.axes:
        # one scatter per class, together every point
        sizes = [len(points.get_offsets()) for points in axes.collections]
        assert sizes == [8, 8, 8]
    legend = figure.axes[-1].get_legend()
    assert [text.get_text() for text in legend.get_texts()] == ['0', '1', '2']


def write_scalars(work_dir, timestamp, records):
    """Writes one mmengine scalars.json of a work dir."""
    folder = osp.join(work_dir, timestamp, 'vis_data')
    os.makedirs(folder)
    with open(osp.join(folder, 'scalars.json'), 'w') as file:
        file.writelines(json.dumps(record) + '\n' for record in records)


def train_record(epoch, iteration, **losses):
    """A training line of scalars.json."""
    return dict(lr=0.1, epoch=epoch, iter=iteration, step=iteration, **losses)


@pytest.fixture
def two_runs(tmp_path):
    """A DisCo run resumed in epoch 2 and a MoCo-v2 run, as logged."""
    disco, moco = str(tmp_path / 'disco'), str(tmp_path / 'moco')
    write_scalars(disco, '20260101_000000', [
        train_record(1, 1, loss_contrastive=4.0, loss_distill=2.0),
        train_record(1, 2, loss_contrastive=3.0, loss_distill=1.0),
        dict(knn_top1=50.0, epoch=1, step=1),
        train_record(2, 3, loss_contrastive=9.0, loss_distill=9.0),
    ])
    # resumed from epoch 1: epoch 2 again, this time complete
    write_scalars(disco, '20260101_010000', [
        train_record(2, 3, loss_contrastive=2.0, loss_distill=0.5),
        train_record(2, 4, loss_contrastive=1.0, loss_distill=0.25),
        dict(knn_top1=70.0, epoch=2, step=2),
    ])
    write_scalars(moco, '20260101_000000', [
        train_record(1, 1, loss_contrastive=5.0),
        train_record(2, 2, loss_contrastive=4.0),
        dict(knn_top1=40.0, epoch=2, step=2),
    ])
    return dict(DisCo=disco, MoCo=moco)


def test_epoch_scalars_are_means_per_epoch_with_resumes_replacing(two_runs):
    scalars = read_epoch_scalars(two_runs['DisCo'])
    assert scalars['loss_contrastive'] == {1: 3.5, 2: 1.5}
    assert scalars['loss_distill'] == {1: 1.5, 2: 0.375}
    assert scalars['knn_top1'] == {1: 50.0, 2: 70.0}
    assert 'lr' in scalars and 'iter' not in scalars


def test_training_curves_png_has_a_line_per_run_and_quantity(two_runs,
                                                             tmp_path):
    path = str(tmp_path / 'curves.png')
    figure = draw_training_curves(two_runs, path)
    assert_png(path, panels=3)
    contrastive, distill, knn = figure.axes
    assert [line.get_label()
            for line in contrastive.lines] == ['DisCo', 'MoCo']
    # MoCo-v2 logs no distillation loss
    assert [line.get_label() for line in distill.lines] == ['DisCo']
    assert list(distill.lines[0].get_ydata()) == [1.5, 0.375]
    assert [list(line.get_xdata()) for line in knn.lines] == [[1, 2], [2]]


def test_curves_of_a_folder_without_logs_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match='vis_data/scalars.json'):
        read_epoch_scalars(str(tmp_path))


def test_curves_tool_names_runs_and_writes_the_png(two_runs, tmp_path,
                                                   load_analysis_tool,
                                                   monkeypatch, capsys):
    tool = load_analysis_tool('plot_training_curves')
    drawn = {}
    monkeypatch.setattr(
        tool, 'draw_training_curves',
        lambda runs, path: drawn.update(
            runs=runs, figure=draw_training_curves(runs, path)))
    out = tmp_path / 'curves.png'
    monkeypatch.setattr(sys, 'argv', [
        'plot_training_curves.py', f'DisCo student={two_runs["DisCo"]}',
        two_runs['MoCo'], '--out',
        str(out)
    ])
    tool.main()
    assert f'Curves of 2 runs written to {out}' in capsys.readouterr().out
    assert drawn['runs'] == {
        'DisCo student': two_runs['DisCo'],
        two_runs['MoCo']: two_runs['MoCo']
    }
    assert_png(out, panels=3)


def test_a_run_keeps_its_colour_in_every_panel(two_runs, tmp_path):
    figure = draw_training_curves(two_runs, str(tmp_path / 'curves.png'))
    colours = {}
    for axes in figure.axes:
        for line in axes.lines:
            colours.setdefault(line.get_label(), set()).add(line.get_color())
    assert colours == {'DisCo': {'C0'}, 'MoCo': {'C1'}}
