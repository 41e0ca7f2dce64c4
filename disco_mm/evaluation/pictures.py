"""Pictures of a run: t-SNE maps, training curves, a batch's views.

Drawn with matplotlib's object interface on the Agg canvas: no display and
no change to pyplot's global backend. The views of a batch are written
pixel for pixel with PIL.
"""
import glob
import json
import os.path as osp
from collections import defaultdict
from typing import Dict, List, NamedTuple, Sequence

import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from PIL import Image
from sklearn.manifold import TSNE

#: Inches per panel and dots per inch of every picture.
PANEL_SIZE = (4.5, 4.0)
DPI = 100

#: Pixels between the images of a view grid.
GRID_GAP = 2

#: The training-curve panels: key in scalars.json and title.
CURVES = (
    ('loss_contrastive', 'contrastive loss'),
    ('loss_distill', 'distillation loss'),
    ('knn_top1', 'kNN top-1 (%)'),
)


class EmbeddingPanel(NamedTuple):
    """One model's embeddings of a labelled set, for one t-SNE map.

    Attributes:
        title (str): The model's name above its map.
        embeddings (torch.Tensor): NxD embeddings.
        labels (torch.Tensor): N class labels.
    """

    title: str
    embeddings: torch.Tensor
    labels: torch.Tensor


def tsne_map(embeddings: torch.Tensor, seed: int = 0) -> np.ndarray:
    """Places embeddings in 2-D by t-SNE on their cosine distances.

    Args:
        embeddings (torch.Tensor): NxD embeddings, N >= 2.
        seed (int): Seed of the optimisation. Defaults to 0.

    Returns:
        np.ndarray: Nx2 coordinates.
    """
    points = embeddings.double().numpy()
    return TSNE(
        n_components=2,
        metric='cosine',
        init='pca',
        perplexity=min(30.0, (len(points) - 1) / 3),
        random_state=seed).fit_transform(points)


def save_figure(figure: Figure, path: str) -> None:
    """Writes a figure as a PNG through the Agg canvas."""
    FigureCanvasAgg(figure)
    figure.savefig(path, format='png', dpi=DPI)


def draw_embedding_maps(panels: Sequence[EmbeddingPanel], path: str,
                        seed: int = 0) -> Figure:
    """Draws one t-SNE map per model side by side, points coloured by class.

    Args:
        panels (Sequence[EmbeddingPanel]): The models' embeddings, each of
            the same labelled images.
        path (str): Where the PNG goes.
        seed (int): Seed of every t-SNE. Defaults to 0.

    Returns:
        Figure: The figure written.
    """
    classes = sorted({int(label) for panel in panels
                      for label in panel.labels})
    colours = _class_colours(len(classes))
    figure = Figure(figsize=(PANEL_SIZE[0] * len(panels), PANEL_SIZE[1]))
    for position, panel in enumerate(panels, start=1):
        axes = figure.add_subplot(1, len(panels), position)
        points = tsne_map(panel.embeddings, seed)
        labels = panel.labels.numpy()
        for colour, cls in zip(colours, classes):
            chosen = labels == cls
            axes.scatter(
                points[chosen, 0],
                points[chosen, 1],
                s=6,
                color=colour,
                label=str(cls))
        axes.set_title(panel.title, fontsize=10)
        axes.set_xticks([])
        axes.set_yticks([])
    figure.axes[-1].legend(
        title='class',
        loc='center left',
        bbox_to_anchor=(1.0, 0.5),
        markerscale=2,
        fontsize=8)
    figure.tight_layout()
    save_figure(figure, path)
    return figure


def _class_colours(count: int) -> List[tuple]:
    """Distinct colours for ``count`` classes (tab10, tab20, then a ramp)."""
    if count <= 10:
        return [colormaps['tab10'](index) for index in range(count)]
    if count <= 20:
        return [colormaps['tab20'](index) for index in range(count)]
    return [
        colormaps['viridis'](index / (count - 1)) for index in range(count)
    ]


def read_epoch_scalars(work_dir: str) -> Dict[str, Dict[int, float]]:
    """Per-epoch values of every scalar an mmengine run logged.

    Reads every ``<timestamp>/vis_data/scalars.json`` under the work dir in
    time order (a resumed run adds a folder; a later value of an epoch
    replaces an earlier one). Training records (with ``iter``) are averaged
    per epoch; epoch records (e.g. ``knn_top1`` of KnnMonitorHook) are
    taken as they are.

    Args:
        work_dir (str): The run's work dir.

    Returns:
        dict: ``{scalar name: {epoch: value}}``.

    Raises:
        FileNotFoundError: The work dir holds no scalars.json.
    """
    files = sorted(
        glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not files:
        raise FileNotFoundError(
            f'{work_dir} holds no <timestamp>/vis_data/scalars.json: give '
            'the work dir of an mmengine training run (the folder with its '
            'checkpoints).')
    merged = {}
    for path in files:
        run_values = defaultdict(lambda: defaultdict(list))
        with open(path) as file:
            for line in file:
                record = json.loads(line)
                if 'epoch' not in record:
                    continue
                for name, value in record.items():
                    if name not in ('epoch', 'iter', 'step'):
                        run_values[name][record['epoch']].append(value)
        for name, epochs in run_values.items():
            merged.setdefault(name, {}).update(epochs)
    return {
        name: {
            epoch: float(np.mean(values))
            for epoch, values in sorted(epochs.items())
        }
        for name, epochs in merged.items()
    }


def draw_training_curves(runs: Dict[str, str], path: str) -> Figure:
    """Draws contrastive loss, distillation loss and kNN top-1 over epochs.

    One panel per quantity of :data:`CURVES`, one line per run; a run that
    did not log a quantity (e.g. MoCo-v2 has no distillation loss) has no
    line in that panel.

    Args:
        runs (dict): Work dirs by the name shown in the legend.
        path (str): Where the PNG goes.

    Returns:
        Figure: The figure written.
    """
    scalars = {name: read_epoch_scalars(work_dir)
               for name, work_dir in runs.items()}
    figure = Figure(figsize=(PANEL_SIZE[0] * len(CURVES), PANEL_SIZE[1]))
    for position, (key, title) in enumerate(CURVES, start=1):
        axes = figure.add_subplot(1, len(CURVES), position)
        # A run keeps its colour in every panel.
        for colour, (name, run) in enumerate(scalars.items()):
            if key in run:
                epochs, values = zip(*run[key].items())
                axes.plot(
                    epochs, values, marker='.', color=f'C{colour}', label=name)
        if axes.lines:
            axes.legend(fontsize=8)
        else:
            axes.text(
                0.5,
                0.5,
                f'no run logged {key}',
                ha='center',
                va='center',
                transform=axes.transAxes)
        axes.set_title(title, fontsize=10)
        axes.set_xlabel('epoch')
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    figure.tight_layout()
    save_figure(figure, path)
    return figure


def save_view_grid(views: Sequence[torch.Tensor], path: str) -> np.ndarray:
    """Writes a batch's views as a PNG: a row per image, a column per view.

    Each image sits at the top left of its cell (views of one batch can
    differ in size, e.g. multi-crop), :data:`GRID_GAP` white pixels apart.

    Args:
        views (Sequence[torch.Tensor]): One ``BxCxHxW`` tensor per view, in
            pixel values (0-255, rounded and clipped here), with 1 or 3
            channels drawn as grey or RGB.
        path (str): Where the PNG goes.

    Returns:
        np.ndarray: The picture written, ``rows x columns x 3`` uint8.
    """
    height = max(view.shape[2] for view in views)
    width = max(view.shape[3] for view in views)
    images = len(views[0])
    grid = np.full((images * (height + GRID_GAP) - GRID_GAP,
                    len(views) * (width + GRID_GAP) - GRID_GAP, 3),
                   255,
                   dtype=np.uint8)
    for column, view in enumerate(views):
        pixels = view.detach().float().cpu().round().clamp(0, 255).to(
            torch.uint8).expand(-1, 3, -1, -1).permute(0, 2, 3, 1).numpy()
        left = column * (width + GRID_GAP)
        for row, image in enumerate(pixels):
            top = row * (height + GRID_GAP)
            grid[top:top + image.shape[0], left:left + image.shape[1]] = image
    Image.fromarray(grid).save(path, format='png')
    return grid
