"""Your own images: safe opening, conversion of any image to the model's tensor, and folders/.zips.

- `open_image` opens a path or bytes with a pixel cap (decompression bombs are refused from the
  header, before any decoding) and turns truncated or non-image data into `ImageError`.
- `image_to_tensor` converts any mode (palette, alpha, 16-bit, 1-bit, CMYK...) and any size to
  `(1, C, H, W)` in [-1, 1]: alpha is composited on black, the image is centre-cropped to the
  target aspect and resized.
- `load_image_folder` reads a folder (recursively) or a .zip with caps on the number of files and
  the total bytes. Zip members are read in memory and never extracted, so member names such as
  `../x.png` cannot write anywhere; such names are skipped and counted anyway.
"""
from __future__ import annotations

import contextlib
import io
import os
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Union

import numpy as np
import torch
from PIL import Image

MAX_PIXELS = 40_000_000  # ~40 megapixels: far above any training image, far below a bomb
# Plain raster formats only: e.g. EPS would hand the file to Ghostscript on load.
FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF", "PPM")
_HIGH_DEPTH_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")
_ALPHA_MODES = ("RGBA", "LA", "PA", "La", "RGBa")

ImageSource = Union[str, os.PathLike, bytes, bytearray, memoryview, IO[bytes]]


class ImageError(ValueError):
    """An image (or a folder or .zip of them) that cannot be used; the message says why."""


@contextlib.contextmanager
def _readable(label: str) -> Iterator[None]:
    """Pillow's many errors on bad input, as one ImageError sentence about `label`."""
    try:
        yield
    except ImageError:
        raise
    except Image.DecompressionBombError as err:  # Pillow's own, higher cap fired at open
        raise ImageError(f"{label} is over the {MAX_PIXELS / 1e6:.0f}-megapixel limit ({err}); "
                         "resize it first.") from None
    except Image.UnidentifiedImageError:
        raise ImageError(f"{label} is not a {'/'.join(FORMATS)} image.") from None
    except Exception as err:  # Pillow's decoders raise many types for malformed input
        raise ImageError(f"{label} could not be read as a {'/'.join(FORMATS)} image "
                         f"({type(err).__name__}: {err}).") from None


def image_size(data: bytes) -> tuple[int, int]:
    """(width, height) from an image's header, decoding nothing; ImageError if unreadable."""
    with _readable("the image data"), Image.open(io.BytesIO(data), formats=FORMATS) as im:
        return im.size


def open_image(path_or_bytes: ImageSource) -> Image.Image:
    """Open and fully decode one image; refuses bombs (> MAX_PIXELS), broken and non-image data."""
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        source, label = io.BytesIO(bytes(path_or_bytes)), "the image data"
    elif isinstance(path_or_bytes, (str, os.PathLike)):
        source, label = os.fspath(path_or_bytes), f"{os.fspath(path_or_bytes)!r}"
    else:
        source, label = path_or_bytes, "the image data"
    with _readable(label), Image.open(source, formats=FORMATS) as im:
        width, height = im.size  # known from the header; nothing is decoded yet
        if width * height > MAX_PIXELS:
            raise ImageError(f"{label} is {width}x{height} = {width * height / 1e6:.0f} "
                             f"megapixels, over the {MAX_PIXELS / 1e6:.0f}-megapixel limit; "
                             "resize it first.")
        im.load()  # decode now, so truncated files fail here and not later
        return im.copy()  # detached from the file, which the `with` closes


def _array_to_image(arr: np.ndarray) -> Image.Image:
    """A (H, W) or (H, W, 1|3|4) array (uint8/uint16/bool/int, or float in [0, 1]) -> PIL image."""
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (3, 4))):
        raise ImageError(f"an image array must be (H, W) or (H, W, 1|3|4), not {arr.shape}")
    if arr.size == 0:
        raise ImageError(f"the image array is empty ({arr.shape})")
    if arr.dtype == np.bool_:
        arr = arr.astype(np.uint8) * 255
    elif np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all() or arr.min() < 0 or arr.max() > 1:
            raise ImageError("a float image array must hold finite values in [0, 1]")
        if arr.ndim == 2:  # keep full precision: goes through the high-bit-depth path
            return Image.fromarray(arr.astype(np.float32))
        arr = np.round(arr * 255).astype(np.uint8)
    elif np.issubdtype(arr.dtype, np.integer):
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi > 65535:
            raise ImageError(f"an integer image array must hold values in [0, 65535], "
                             f"not [{lo}, {hi}]")
        if arr.dtype != np.uint8 and hi <= 255:
            arr = arr.astype(np.uint8)
        elif arr.dtype != np.uint8:  # 16-bit data
            if arr.ndim == 2:
                return Image.fromarray(arr.astype(np.uint16))  # mode I;16
            arr = np.round(arr / 257).astype(np.uint8)  # 65535 / 257 = 255
    else:
        raise ImageError(f"an image array of dtype {arr.dtype} is not supported")
    return Image.fromarray(np.ascontiguousarray(arr))


def _high_depth_to_float(img: Image.Image) -> Image.Image:
    """16/32-bit grayscale -> mode "F" in [0, 1]; Pillow's convert("L") would clip, not scale."""
    arr = np.asarray(img).astype(np.float32)
    if img.mode.startswith("I;16"):
        scale = 65535.0
    else:  # "I" or "F": the range is not in the mode, so take the smallest common one that fits
        top = float(arr.max()) if arr.size else 0.0
        scale = 1.0 if (img.mode == "F" and top <= 1.0) else 255.0 if top <= 255 else 65535.0
    return Image.fromarray(np.clip(arr / scale, 0.0, 1.0).astype(np.float32))


def _normalise_mode(img: Image.Image, channels: int) -> Image.Image:
    """Any mode -> "L" or "RGB" (8-bit) or "F" (high-depth grayscale in [0, 1])."""
    if img.mode in _HIGH_DEPTH_MODES:
        return _high_depth_to_float(img)
    if img.mode in _ALPHA_MODES or "transparency" in img.info:
        # Composite on black: transparent areas become background, like MNIST's black.
        rgba = img.convert("RGBA")
        img = Image.alpha_composite(Image.new("RGBA", rgba.size, (0, 0, 0, 255)), rgba)
    try:
        if channels == 1 and img.mode in ("1", "L"):
            return img.convert("L")
        return img.convert("RGB") if channels == 3 else img.convert("RGB").convert("L")
    except (ValueError, OSError) as err:
        raise ImageError(f"images in mode {img.mode!r} are not supported ({err})") from None


def _check_shape(shape: tuple[int, ...]) -> tuple[int, int, int]:
    if len(shape) != 3 or shape[0] not in (1, 3) or min(shape[1:]) < 1:
        raise ImageError(f"shape={tuple(shape)} must be (C, H, W) with C = 1 or 3")
    return int(shape[0]), int(shape[1]), int(shape[2])


def image_to_tensor(img: Image.Image | np.ndarray, shape: tuple[int, ...]) -> torch.Tensor:
    """Any image or array -> (1, C, H, W) float32 in [-1, 1], centre-cropped to H:W and resized."""
    c, h, w = _check_shape(shape)
    if isinstance(img, np.ndarray):
        img = _array_to_image(img)
    elif not isinstance(img, Image.Image):
        raise ImageError(f"expected a PIL image or a numpy array, not {type(img).__name__}")
    if img.width * img.height > MAX_PIXELS:
        raise ImageError(f"the image is {img.width}x{img.height}, over the "
                         f"{MAX_PIXELS / 1e6:.0f}-megapixel limit; resize it first.")
    img = _normalise_mode(img, c)
    # The largest centred box with the target aspect ratio; resize only that part.
    scale = min(img.width / w, img.height / h)
    bw, bh = w * scale, h * scale
    left, top = (img.width - bw) / 2, (img.height - bh) / 2
    # reducing_gap: a fast box pre-shrink for big photos, then LANCZOS for quality.
    img = img.resize((w, h), Image.Resampling.LANCZOS, box=(left, top, left + bw, top + bh),
                     reducing_gap=3.0)
    arr = np.asarray(img, dtype=np.float32)
    arr = np.clip(arr, 0.0, 1.0) if img.mode == "F" else arr / 255.0  # LANCZOS may overshoot
    x = torch.from_numpy(arr.copy())
    x = x[None] if x.dim() == 2 else x.permute(2, 0, 1)  # (C', H, W)
    if x.shape[0] != c:  # only a one-channel "F" image can get here with c == 3
        x = x.expand(c, h, w)
    return (x * 2 - 1).unsqueeze(0).contiguous()


def tensor_to_pil(x: torch.Tensor) -> Image.Image:
    """(C, H, W) (or (1, C, H, W)) in [-1, 1] -> an "L" or "RGB" PIL image; values are clamped."""
    x = x.detach().to("cpu", torch.float32)
    if x.dim() == 4 and x.shape[0] == 1:
        x = x[0]
    if x.dim() != 3 or x.shape[0] not in (1, 3):
        raise ImageError(f"expected a (C, H, W) tensor with C = 1 or 3, not {tuple(x.shape)}")
    x = torch.nan_to_num(x, nan=0.0).clamp(-1, 1)
    arr = ((x + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 0).numpy()
    return Image.fromarray(arr[:, :, 0] if arr.shape[2] == 1 else arr)


# --- folders and zips -------------------------------------------------------------------------

def _ignored(parts: list[str]) -> bool:
    # Hidden files/folders (.DS_Store, .ipynb_checkpoints with image copies) and macOS zip
    # metadata are not the user's images: leave them out without counting them as skipped.
    return any(p.startswith(".") or p == "__MACOSX" for p in parts)


def _unsafe_member(name: str) -> bool:
    """A zip member name that would escape an extraction folder: absolute, drive or '..'."""
    name = name.replace("\\", "/")
    return (name.startswith("/") or re.match(r"^[A-Za-z]:", name) is not None
            or ".." in name.split("/"))


def _too_many(path: str, max_files: int) -> ImageError:
    return ImageError(f"{path} holds more than {max_files:,} files, the limit; use a smaller "
                      "folder or .zip.")


def _too_big(path: str, max_bytes: int) -> ImageError:
    return ImageError(f"{path} holds more than {max_bytes / 1e6:,.0f} MB of files, the limit; "
                      "use a smaller folder or .zip.")


def _folder_sources(root: Path, max_files: int,
                    max_bytes: int) -> tuple[int, Iterator[ImageSource | None]]:
    """(how many files there are to read, the files); walked and bounded at once."""
    files: list[Path] = []
    total = 0
    for dirpath, dirnames, filenames in os.walk(root):  # does not follow linked folders
        dirnames[:] = sorted(d for d in dirnames if not _ignored([d]))
        for name in sorted(filenames):
            if _ignored([name]):
                continue
            file = Path(dirpath) / name
            if not file.is_file():
                continue
            files.append(file)
            total += file.stat().st_size
            if len(files) > max_files:  # stop walking at once: the folder could be "/"
                raise _too_many(str(root), max_files)
            if total > max_bytes:
                raise _too_big(str(root), max_bytes)
    return len(files), iter(files)


def _zip_sources(path: Path, max_files: int,
                 max_bytes: int) -> tuple[int, Iterator[ImageSource | None]]:
    """(how many members there are to read, their bytes: None for one that cannot be);
    the listing is checked at once, the members are read as the iterator is."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        raise ImageError(f"{path} is not a readable .zip file ({err}).") from None
    try:
        members = []
        for info in zf.infolist():
            if info.is_dir():
                continue
            if _unsafe_member(info.filename):
                members.append(None)  # never read; counted as skipped
            elif not _ignored(info.filename.replace("\\", "/").split("/")):
                members.append(info)
        if len(members) > max_files:
            raise _too_many(str(path), max_files)
        # Declared sizes first, so a zip bomb is refused before anything is inflated...
        if sum(i.file_size for i in members if i is not None) > max_bytes:
            raise _too_big(str(path), max_bytes)
    except BaseException:
        zf.close()
        raise
    return sum(i is not None for i in members), _read_members(zf, members, path, max_bytes)


def _read_members(zf: zipfile.ZipFile, members: list[zipfile.ZipInfo | None], path: Path,
                  max_bytes: int) -> Iterator[bytes | None]:
    with zf:
        total = 0
        for info in sorted(members, key=lambda i: "" if i is None else i.filename):
            if info is None or info.flag_bits & 0x1:  # unsafe name, or encrypted
                yield None
                continue
            try:
                with zf.open(info) as f:
                    # ...and never read more than declared, in case a header lies.
                    data = f.read(info.file_size + 1)
            except Exception:  # bad CRC, unsupported compression, truncated archive
                yield None
                continue
            total += len(data)
            if total > max_bytes:
                raise _too_big(str(path), max_bytes)
            yield data if len(data) <= info.file_size else None


def load_image_folder(path: str, size: int, channels: int, *, max_files: int = 10_000,
                      max_bytes: int = 200_000_000,
                      max_decoded_bytes: int | None = None) -> tuple[torch.Tensor, int]:
    """A folder (recursive) or .zip of images -> ((N, C, size, size) in [-1, 1], n_skipped).

    Files that are not readable images (and unsafe zip member names) are skipped and counted;
    hidden files and `__MACOSX` metadata are ignored. Too many files or bytes (as stored, or
    `max_decoded_bytes` once decoded to float32 at this size), or no usable image at all,
    raise `ImageError`. Messages name the file, never the folder it is in.
    """
    shape = _check_shape((channels, size, size))
    root = Path(path)
    name = root.name or str(path)
    if root.is_dir():
        count, sources = _folder_sources(root, max_files, max_bytes)
    elif root.is_file():
        if not zipfile.is_zipfile(root):
            raise ImageError(f"{name} is neither a folder nor a .zip file of images.")
        count, sources = _zip_sources(root, max_files, max_bytes)
    else:
        raise ImageError(f"{name} does not exist; give a folder or a .zip file of images.")
    per_image = 4 * channels * size * size  # float32
    # Refused from the listing, before anything is decoded (every file counted as an image).
    if max_decoded_bytes is not None and count * per_image > max_decoded_bytes:
        raise ImageError(f"{name} holds {count:,} files: more images than fit in "
                         f"{max_decoded_bytes // 2**20:,} MB once decoded at "
                         f"{channels}x{size}x{size} (each takes {per_image / 1024:,.0f} KB): use "
                         "fewer or smaller images (set GP_MAX_DATA_MB to allow more)")
    out = torch.empty((count, *shape))  # filled in place: no second copy to join them
    n, skipped = 0, 0
    for source in sources:
        if source is None:
            skipped += 1
            continue
        try:
            out[n] = image_to_tensor(open_image(source), shape)[0]
            n += 1
        except ImageError:
            skipped += 1
    if not n:
        raise ImageError(f"{name} holds no readable PNG/JPEG/GIF/BMP/WEBP/TIFF/PPM images "
                         f"({skipped} file(s) skipped).")
    return out[:n], skipped
