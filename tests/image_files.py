"""Image files for the tests of unreadable images.

Imported by the tests as ``image_files`` (pytest puts ``tests/`` on the
path).
"""
import io

import numpy as np
from PIL import Image

#: A colour every variant encodes, as RGB.
RGB = (200, 50, 20)


def jpeg_bytes():
    """A complete JPEG of noise (large enough to cut in half)."""
    noise = np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, format='JPEG')
    return buffer.getvalue()


def pil_bytes(image_format, mode='RGB'):
    """A 16x16 image in one of PIL's formats."""
    buffer = io.BytesIO()
    Image.new('RGB', (16, 16), RGB).convert(mode).save(
        buffer, format=image_format)
    return buffer.getvalue()


def damaged_sos_jpeg():
    """A JPEG whose start-of-scan header names a component it lacks."""
    data = bytearray(jpeg_bytes())
    start_of_scan = data.index(b'\xff\xda')
    data[start_of_scan + 5] = 9  # the first component selector
    return bytes(data)


#: Files PIL opens and verifies, named as an image folder would hold them.
OPENCV_UNDECODABLE = {
    'tga.jpg': lambda: pil_bytes('TGA'),
    'ico.png': lambda: pil_bytes('ICO'),
    'damaged_sos.jpg': damaged_sos_jpeg,
    'qoi.png': lambda: pil_bytes('QOI'),
    'pcx.jpg': lambda: pil_bytes('PCX'),
    'sgi.jpg': lambda: pil_bytes('SGI'),
    'dds.png': lambda: pil_bytes('DDS'),
    'xbm.png': lambda: pil_bytes('XBM', mode='1'),
    'eps.jpg': lambda: pil_bytes('EPS'),
}
