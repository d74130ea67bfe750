"""OCR: the only module that imports the OCR engine (RapidOCR, PP-OCR models run by ONNX Runtime).

The `rapidocr` wheel ships its detection, direction and recognition models, so reading a scan needs no
download and no program outside the virtual environment. Chosen over Debian's tesseract by measurement
(README, *Scans*): fewer character errors on real pages, and installed by pip like everything else.
"""
from __future__ import annotations

import functools

from index.layout import Box


@functools.lru_cache(maxsize=1)
def _engine():
    from rapidocr import RapidOCR

    return RapidOCR(params={"Global.log_level": "error"})


def read_lines(image) -> list[tuple[str, Box]]:
    """The text lines of an RGB image (a PIL image), top to bottom, each with its box as fractions of the image."""
    import numpy as np

    pixels = np.asarray(image.convert("RGB"))
    found = _engine()(pixels)
    height, width = pixels.shape[:2]
    return [(text, _box(polygon, width, height)) for polygon, text in zip(found.boxes if found.boxes is not None
                                                                           else (), found.txts or ()) if text.strip()]


def _box(polygon, width: int, height: int) -> Box:
    xs, ys = [float(p[0]) for p in polygon], [float(p[1]) for p in polygon]
    return (round(min(xs) / width, 5), round(min(ys) / height, 5), round(max(xs) / width, 5),
            round(max(ys) / height, 5))
