"""Images: what a file is (format, size), PNG conversion, bounded copies for models, the image store.

Pillow is imported only when an image is actually handled. Used by ImageGenerator (writes a
PNG and describes it as a new binary file) and image input (attachments and ReadFile on
images, downscaled to the limits below; the engine's ``engine/vision.py``). The half-block
preview lives with the other displays in ``frontends/render.py``.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path
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


def open_image(data: bytes) -> Any:
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except UnidentifiedImageError:
        raise ImageError("not a readable image (unknown or damaged format)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"not a readable image ({exc})") from None
    return image


def image_info(data: bytes) -> ImageInfo:
    image = open_image(data)
    return ImageInfo(image.format or "unknown", image.width, image.height, len(data))


def to_png(data: bytes) -> bytes:
    """The image as PNG bytes (unchanged when it already is one)."""
    image = open_image(data)
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
    image = open_image(data)
    fmt = (image.format or "").upper()
    known = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}.get(fmt)
    if known and max(image.size) <= max_side and len(data) <= max_bytes:
        return known, base64.b64encode(data).decode("ascii"), ""
    mime = "image/png"
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


# -- images in the conversation ----------------------------------------------------------------
#
# A message holds an image as a small reference part, {"type": "de_agent_image", "ref", "label"},
# never as base64: the bounded copy lives once in the image store (content-addressed, under the
# user state folder), so session files stay small and a resumed session finds its images again.
# Right before a model call the references become OpenAI-style ``image_url`` parts (data URLs)
# for models that accept images, and a clear text note for those that do not.

REF_TYPE = "de_agent_image"
_ATTACHMENT = re.compile(r"""(?:^|(?<=\s))@?(['"]?)((?:file://)?[^\s'"@]+\.(?:png|jpe?g|gif|webp|bmp))\1(?=$|\s|[,.;:!?)]+(?:\s|$))""",
                         re.IGNORECASE)


def store_dir() -> Path:
    from de_agent import paths

    return paths.home() / "images"


def store(data: bytes, label: str) -> dict[str, Any]:
    """Put a bounded copy of the image in the store; the reference part for a message."""
    info = image_info(data)
    mime, b64, note = for_model(data)
    raw = base64.b64decode(b64)
    name = hashlib.sha256(raw).hexdigest()[:32] + (".png" if mime == "image/png" else
                                                   ".jpg" if mime == "image/jpeg" else
                                                   ".gif" if mime == "image/gif" else ".webp")
    folder = store_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    if not target.exists():
        tmp = folder / f".{name}.{os.getpid()}.tmp"
        tmp.write_bytes(raw)
        os.replace(tmp, target)
    part = {"type": REF_TYPE, "ref": name, "label": f"{label} ({info.format} {info.width}x{info.height})"}
    if note:
        part["note"] = note
    return part


def attachment_paths(text: str, root: Path) -> list[Path]:
    """Image files named in a prompt (``@diagram.png`` or a pasted path) that exist, in order."""
    if "." not in text:
        return []
    found: list[Path] = []
    for match in _ATTACHMENT.finditer(text):
        raw = match.group(2)
        if raw.startswith("file://"):
            raw = raw[len("file://"):]
        path = Path(raw).expanduser()
        if not path.is_absolute():
            path = root / path
        try:
            if path.is_file() and path not in found:
                found.append(path)
        except OSError:
            continue
    return found


def user_content(text: str, root: Path, attached: list[dict[str, Any]] | None = None, body: str | None = None
                 ) -> tuple[str | list[dict[str, Any]], list[str]]:
    """The content of a user message (its text, ``body`` when given, alone or with image
    reference parts for the images ``text`` names and those attached by the front end: {path}
    or {mime_type, data}), and what to tell the person about them."""
    body = text if body is None else body
    paths = attachment_paths(text, root)
    if not paths and not attached:
        return body, []
    parts: list[dict[str, Any]] = [{"type": "text", "text": body}]
    sources: list[tuple[str, Any]] = [(str(p), p) for p in paths]
    for item in attached or []:
        if item.get("path"):
            path = Path(str(item["path"])).expanduser()
            sources.append((str(item["path"]), path if path.is_absolute() else root / path))
        elif item.get("data"):
            sources.append((str(item.get("uri") or "pasted image"), item))
    notes: list[str] = []
    for label, source in sources:
        try:
            if isinstance(source, Path):
                if source.stat().st_size > MAX_FILE_BYTES:
                    raise ImageError(f"larger than {human_size(MAX_FILE_BYTES)}")
                data = source.read_bytes()
            else:
                data = base64.b64decode(source["data"], validate=False)
            part = store(data, _short_label(label, root))
            parts.append(part)
            notes.append(f"attached image {part['label']}" + (f", {part['note']}" if part.get("note") else ""))
        except (OSError, ImageError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            note = f"could not attach {_short_label(label, root)}: {reason}"
            notes.append(note)
            parts.append({"type": "text", "text": f"[de-agent: {note}]"})
    if all(p["type"] == "text" for p in parts):
        return "\n".join(p["text"] for p in parts), notes
    return parts, notes


def _short_label(label: str, root: Path) -> str:
    try:
        return str(Path(label).relative_to(root))
    except ValueError:
        return label


def has_images(messages: list[dict[str, Any]]) -> bool:
    return any(isinstance(m.get("content"), list) and any(p.get("type") == REF_TYPE for p in m["content"])
               for m in messages)


def expand(messages: list[dict[str, Any]], vision: bool, model: str) -> list[dict[str, Any]]:
    """The messages with image references made into what the model accepts."""
    out = []
    for message in messages:
        content = message.get("content")
        if not isinstance(content, list) or not any(p.get("type") == REF_TYPE for p in content):
            out.append(message)
            continue
        parts = [_expand_part(p, vision, model) if p.get("type") == REF_TYPE else p for p in content]
        if all(p.get("type") == "text" for p in parts):
            out.append({**message, "content": "\n".join(p["text"] for p in parts)})
        else:
            out.append({**message, "content": parts})
    return out


def _expand_part(part: dict[str, Any], vision: bool, model: str) -> dict[str, Any]:
    label = part.get("label", "image")
    if not vision:
        return {"type": "text", "text": f"[de-agent: image {label} not shown: the model {model} does not accept "
                                        "images. Say so if the image matters, and ask the user to describe it "
                                        "or to switch to a vision model.]"}
    ref = str(part.get("ref", ""))
    path = store_dir() / Path(ref).name
    try:
        data = path.read_bytes()
    except OSError:
        return {"type": "text", "text": f"[de-agent: image {label} is no longer in the image store ({path}).]"}
    mime = IMAGE_SUFFIXES.get(path.suffix.lower(), "image/png")
    return {"type": "image_url", "image_url": {"url": f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"}}
