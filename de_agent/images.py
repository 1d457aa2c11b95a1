"""Images: what a file is (format, size), PNG conversion, bounded copies for models, previews.

Pillow is imported only when an image is actually handled. Used by ImageGenerator (writes a
PNG and describes it as a new binary file), image input (attachments and ReadFile on images,
downscaled to the limits below) and the half-block preview of the TUI and plain mode.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from typing import Any

IMAGE_SUFFIXES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
                  ".webp": "image/webp", ".bmp": "image/bmp"}
# What a model is sent: the longest side and the encoded size are bounded (providers refuse
# or silently shrink bigger images; 1568 px is where the common vision models stop gaining).
MAX_SIDE = 1568
MAX_BYTES = 3_500_000
# What is read from disk at all before giving up.
MAX_FILE_BYTES = 40_000_000


class ImageError(ValueError):
    """Not an image Pillow can read, or too large to handle."""


@dataclass
class ImageInfo:
    format: str  # PNG, JPEG, ...
    width: int
    height: int
    bytes: int

    def describe(self) -> str:
        return f"{self.format} image, {self.width}x{self.height}, {human_size(self.bytes)}"


def human_size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n / (1024 * 1024):.1f} MiB"


def is_image_path(path: str) -> bool:
    dot = path.rfind(".")
    return dot >= 0 and path[dot:].lower() in IMAGE_SUFFIXES


def _open(data: bytes) -> Any:
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"not a readable image ({exc})") from None
    return image


def image_info(data: bytes) -> ImageInfo:
    image = _open(data)
    return ImageInfo(image.format or "unknown", image.width, image.height, len(data))


def to_png(data: bytes) -> bytes:
    """The image as PNG bytes (unchanged when it already is one)."""
    image = _open(data)
    if image.format == "PNG":
        return data
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def new_binary_diff(rel: str, info: ImageInfo, existed: bool = False) -> str:
    """A git-style diff naming a binary file written, with its size and dimensions."""
    head = f"diff --git a/{rel} b/{rel}\n" + ("" if existed else "new file mode 100644\n")
    return head + f"Binary file {rel} {'changed' if existed else 'added'}: {info.describe()}\n"


def for_model(data: bytes, *, max_side: int = MAX_SIDE, max_bytes: int = MAX_BYTES) -> tuple[str, str, str]:
    """(mime type, base64 data, note) of a copy within the limits: downscaled and re-encoded
    when it is larger; the note says what was done ('' when the image went as it was)."""
    image = _open(data)
    fmt = (image.format or "").upper()
    mime = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}.get(fmt)
    if mime and max(image.size) <= max_side and len(data) <= max_bytes:
        return mime, base64.b64encode(data).decode("ascii"), ""
    original = f"{image.width}x{image.height}"
    if getattr(image, "n_frames", 1) > 1:
        image.seek(0)
    image = image.convert("RGBA" if image.mode in ("RGBA", "LA", "P") else "RGB")
    scale = min(1.0, max_side / max(image.size))
    if scale < 1.0:
        image = image.resize((max(1, int(image.width * scale)), max(1, int(image.height * scale))))
    for quality in (90, 80, 65, 50):
        out = io.BytesIO()
        if image.mode == "RGBA":
            image.save(out, format="PNG", optimize=True)
            mime = "image/png"
        else:
            image.save(out, format="JPEG", quality=quality)
            mime = "image/jpeg"
        if out.tell() <= max_bytes or image.mode == "RGBA":
            break
    encoded = out.getvalue()
    if len(encoded) > max_bytes:
        image = image.convert("RGB")
        while len(encoded) > max_bytes and max(image.size) > 64:
            image = image.resize((max(1, image.width // 2), max(1, image.height // 2)))
            out = io.BytesIO()
            image.save(out, format="JPEG", quality=60)
            encoded, mime = out.getvalue(), "image/jpeg"
    note = f"downscaled from {original} to {image.width}x{image.height} ({human_size(len(encoded))})"
    return mime, base64.b64encode(encoded).decode("ascii"), note


def half_block_preview(data: bytes, width: int = 40) -> Any:
    """A rich Text drawing the image with '▀' cells (two pixels a cell): works in any colour terminal."""
    from rich.style import Style
    from rich.text import Text

    image = _open(data).convert("RGB")
    width = max(4, min(width, image.width))
    height = max(2, int(image.height * width / image.width) // 2 * 2)
    image = image.resize((width, height))
    pixels = image.load()
    text = Text()
    for y in range(0, height, 2):
        for x in range(width):
            top, bottom = pixels[x, y], pixels[x, y + 1]
            text.append("▀", Style(color=f"rgb({top[0]},{top[1]},{top[2]})",
                                   bgcolor=f"rgb({bottom[0]},{bottom[1]},{bottom[2]})"))
        if y + 2 < height:
            text.append("\n")
    return text
