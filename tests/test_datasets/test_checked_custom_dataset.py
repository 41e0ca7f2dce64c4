"""CheckedCustomDataset: unreadable images found at start-up, by policy.

The folder holds one image of each readable variant (RGB JPEG, grayscale,
RGBA, CMYK, 16-bit PNG) and three unreadable files: random bytes named
.jpg, a JPEG cut in half, and an empty file. Another holds images that PIL
opens and verifies but OpenCV, the pipeline's default decoder, cannot
decode.
"""
import numpy as np
import pytest
from mmpretrain.registry import DATASETS
from PIL import Image

from image_files import OPENCV_UNDECODABLE, RGB, jpeg_bytes
from disco_mm.datasets.checked_custom_dataset import image_problem

#: Readable files: how each is written, and the BGR pixel it must load as.
READABLE = {
    'rgb.jpg': (lambda: Image.new('RGB', (16, 16), RGB), RGB[::-1]),
    'gray.png': (lambda: Image.new('L', (16, 16), 90), (90, 90, 90)),
    'rgba.png': (lambda: Image.new('RGBA', (16, 16), RGB + (128, )),
                 RGB[::-1]),
    'cmyk.jpg': (lambda: Image.new('RGB', (16, 16), RGB).convert('CMYK'),
                 RGB[::-1]),
    # 40000 of 65535 is 155.6 of 255
    'gray16.png': (lambda: Image.fromarray(
        np.full((16, 16), 40000, dtype=np.uint16)), (156, 156, 156)),
}
UNREADABLE = ('corrupt.jpg', 'empty.jpg', 'truncated.jpg')


@pytest.fixture
def image_folder(tmp_path):
    """Writes every readable variant and every unreadable kind of file."""
    for name, (make, _) in READABLE.items():
        make().save(tmp_path / name, quality=100)
    (tmp_path / 'corrupt.jpg').write_bytes(
        np.random.default_rng(1).bytes(2000))
    (tmp_path / 'empty.jpg').write_bytes(b'')
    whole = jpeg_bytes()
    (tmp_path / 'truncated.jpg').write_bytes(whole[:len(whole) // 2])
    return tmp_path


def build(folder, **kwargs):
    """The dataset of ``folder``; its pipeline only loads images."""
    return DATASETS.build(
        dict(
            dict(
                type='CheckedCustomDataset',
                data_root=str(folder),
                with_label=False,
                pipeline=[dict(type='LoadImageFromFile')]), **kwargs))


def test_raise_lists_every_unreadable_file(image_folder):
    with pytest.raises(ValueError) as error:
        build(image_folder)
    message = str(error.value)
    assert message.startswith('3 of 8 images cannot be read:')
    for name in UNREADABLE:
        assert f'{image_folder / name}: ' in message
    assert 'truncated.jpg: truncated JPEG' in message
    assert 'empty.jpg: empty file' in message
    assert "bad_image_policy='skip'" in message


def test_skip_leaves_out_and_names_unreadable_files(image_folder):
    dataset = build(image_folder, bad_image_policy='skip')
    assert len(dataset) == len(READABLE)
    assert sorted(path.rsplit('/', 1)[1]
                  for path in dataset.skipped_images) == list(UNREADABLE)


def test_colour_variants_load_as_8_bit_bgr(image_folder):
    dataset = build(image_folder, bad_image_policy='skip')
    for index in range(len(dataset)):
        sample = dataset[index]
        name = sample['img_path'].rsplit('/', 1)[1]
        image = sample['img']
        assert image.shape == (16, 16, 3) and image.dtype == np.uint8, name
        np.testing.assert_allclose(
            image[8, 8], READABLE[name][1], atol=3, err_msg=name)


def test_truncated_png_is_found(tmp_path):
    path = tmp_path / 'cut.png'
    Image.new('RGB', (64, 64), RGB).save(path)
    path.write_bytes(path.read_bytes()[:-20])
    assert image_problem(str(path)) is not None


def test_unknown_policy_is_refused(image_folder):
    with pytest.raises(ValueError, match="'raise', 'skip'"):
        build(image_folder, bad_image_policy='ignore')



@pytest.fixture
def undecodable_folder(tmp_path):
    """One image OpenCV reads and every file of OPENCV_UNDECODABLE."""
    Image.new('RGB', (16, 16), RGB).save(tmp_path / 'good.jpg')
    for name, make in OPENCV_UNDECODABLE.items():
        (tmp_path / name).write_bytes(make())
    return tmp_path


def test_files_pil_opens_but_opencv_cannot_are_found(undecodable_folder):
    for name in OPENCV_UNDECODABLE:
        path = undecodable_folder / name
        with Image.open(path) as image:
            image.verify()
    with pytest.raises(ValueError) as error:
        build(undecodable_folder)
    message = str(error.value)
    assert message.startswith(f'{len(OPENCV_UNDECODABLE)} of '
                              f'{len(OPENCV_UNDECODABLE) + 1} images cannot '
                              'be read:')
    for name in OPENCV_UNDECODABLE:
        assert f'{undecodable_folder / name}: the pipeline cannot decode ' \
            'it' in message


def test_skip_leaves_out_what_the_pipeline_cannot_decode(undecodable_folder):
    dataset = build(
        undecodable_folder,
        bad_image_policy='skip',
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='RandomResizedCrop', scale=8),
            dict(type='PackInputs')
        ])
    assert len(dataset.skipped_images) == len(OPENCV_UNDECODABLE)
    assert len(dataset) == 1
    assert dataset[0]['inputs'].shape == (3, 8, 8)


def test_check_decodes_with_the_pipelines_backend(tmp_path):
    (tmp_path / 'tga.jpg').write_bytes(OPENCV_UNDECODABLE['tga.jpg']())
    dataset = build(
        tmp_path,
        pipeline=[dict(type='LoadImageFromFile', imdecode_backend='pillow')])
    assert len(dataset) == 1
    np.testing.assert_array_equal(dataset[0]['img'][8, 8], RGB[::-1])
