"""Photo files for the tests: a phone JPEG with GPS in its EXIF, and files that must be refused."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image


def phone_jpeg(
    width: int = 1600, height: int = 1200, *, quality: int = 90, noise: bool = False, orientation: int = 1
) -> bytes:
    """A JPEG as a phone writes it: camera make, orientation and a GPS position in EXIF. With
    ``orientation`` 6 (a phone held upright) the sensor's left half, red, is the picture's top."""
    if orientation != 1:
        image = Image.new("RGB", (width, height), (0, 0, 255))
        image.paste((255, 0, 0), (0, 0, width // 2, height))
    elif noise:
        import os

        image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    else:
        image = Image.new("RGB", (width, height), (120, 160, 200))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0112] = orientation  # Orientation
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (41.0, 7.0, 12.5)
    gps[3] = "E"
    gps[4] = (122.0, 57.0, 3.25)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, exif=exif)
    return out.getvalue()


def png_bomb(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` × ``height`` pixels (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 4096))
        + chunk(b"IEND", b"")
    )
