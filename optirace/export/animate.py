"""The race as an animated GIF or an H.264 MP4, frame by frame, in constant memory.

GIF: one 255-colour palette for the whole animation (taken from the first and last frames, which
between them hold every colour the race shows), each pixel mapped to its nearest palette colour
exactly (a lookup table filled as colours appear), and each frame stored as the rectangle that
changed, with unchanged pixels transparent. Pillow's LZW encoder writes the frames; we write the
few header bytes around them, so frames stream to disk instead of piling up in memory.

MP4: raw RGBA frames piped to the ffmpeg binary that the imageio-ffmpeg wheel ships; H.264 in
yuv420p with the index at the front (+faststart), which PowerPoint, Keynote and browsers all play.
"""

from __future__ import annotations

import struct
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from PIL import GifImagePlugin, Image

__all__ = ["write_gif", "write_mp4", "gif_delays"]

Frames = Iterator[np.ndarray]  # RGBA (height, width, 4) uint8
TRANSPARENT = 255


def gif_delays(n: int, fps: float) -> list[int]:
    """Per-frame delays in centiseconds (GIF's unit) whose running sum stays on the exact clock."""
    ticks = np.rint(np.arange(n + 1) * 100.0 / fps).astype(int)
    return [max(int(d), 1) for d in np.diff(ticks)]


def _pack(rgba: np.ndarray) -> np.ndarray:
    """One 24-bit key per pixel: R | G << 8 | B << 16 (RGBA bytes read as a little-endian uint32)."""
    rgba = np.ascontiguousarray(rgba)
    return rgba.view("<u4")[..., 0] & 0xFFFFFF


class _Palette:
    """Nearest-colour mapping to a fixed palette, filled lazily for the colours that occur."""

    def __init__(self, samples: list[np.ndarray]) -> None:
        stack = Image.fromarray(np.concatenate([s[..., :3] for s in samples], axis=0))
        q = stack.quantize(colors=TRANSPARENT, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        pal = np.asarray(q.getpalette()[: 3 * TRANSPARENT], dtype=np.int32).reshape(-1, 3)
        self.colors = np.zeros((256, 3), dtype=np.int32)
        self.colors[: len(pal)] = pal
        self.used = len(pal)
        # Palette index per 24-bit colour; TRANSPARENT (never a palette colour) means not looked up yet.
        self.lut = np.full(1 << 24, TRANSPARENT, dtype=np.uint8)

    def indices(self, rgba: np.ndarray) -> np.ndarray:
        packed = _pack(rgba)
        idx = self.lut[packed]
        missing = idx == TRANSPARENT
        if missing.any():
            new = np.unique(packed[missing])
            rgb = np.stack([new & 255, (new >> 8) & 255, new >> 16], axis=-1).astype(np.int32)
            pal = self.colors[: self.used]
            for lo in range(0, len(new), 4096):
                d = ((rgb[lo : lo + 4096, None, :] - pal[None, :, :]) ** 2).sum(-1)
                self.lut[new[lo : lo + 4096]] = d.argmin(1)
            idx = self.lut[packed]
        return idx

    def bytes(self) -> bytes:
        return self.colors.astype(np.uint8).tobytes()


def write_gif(path: Path, frames: Frames, size: tuple[int, int], fps: float, n: int,
              samples: list[np.ndarray], tick: Callable[[], None] = lambda: None) -> int:  # fmt: skip
    """Write n RGBA frames as a looping GIF; returns the number of frames stored (equal
    consecutive frames are stored once, with their delays added)."""
    w, h = size
    palette = _Palette(samples)
    delays = gif_delays(n, fps)
    stored = 0
    with open(path, "wb") as fp:
        # Header, logical screen (global colour table of 256), and NETSCAPE2.0 loop-forever.
        fp.write(b"GIF89a" + struct.pack("<HHBBB", w, h, 0xF7, 0, 0) + palette.bytes())
        fp.write(b"!\xff\x0bNETSCAPE2.0\x03\x01" + struct.pack("<H", 0) + b"\x00")
        prev: np.ndarray | None = None
        pending: tuple[Image.Image, tuple[int, int], int] | None = None

        def flush():
            im, offset, delay = pending
            # Disposal 1: keep this frame's pixels; the next frame draws only what changes.
            for chunk in GifImagePlugin.getdata(im, offset, duration=delay * 10, disposal=1,
                                                transparency=TRANSPARENT):  # fmt: skip
                fp.write(chunk)

        for j, rgba in enumerate(frames):
            idx = palette.indices(rgba)
            if prev is None:
                box, piece = (0, 0, w, h), idx
            else:
                changed = idx != prev
                if not changed.any():
                    pending = (pending[0], pending[1], pending[2] + delays[j])
                    tick()
                    continue
                rows, cols = np.flatnonzero(changed.any(1)), np.flatnonzero(changed.any(0))
                box = (cols[0], rows[0], cols[-1] + 1, rows[-1] + 1)
                sub = (slice(box[1], box[3]), slice(box[0], box[2]))
                piece = np.where(changed[sub], idx[sub], TRANSPARENT).astype(np.uint8)
            if pending is not None:
                flush()
                stored += 1
            im = Image.frombytes("P", (piece.shape[1], piece.shape[0]), np.ascontiguousarray(piece).tobytes())
            im.putpalette(palette.bytes())
            pending = (im, (int(box[0]), int(box[1])), delays[j])
            prev = idx
            tick()
        if pending is not None:
            flush()
            stored += 1
        fp.write(b";")
    return stored


def write_mp4(path: Path, frames: Frames, size: tuple[int, int], fps: float,
              tick: Callable[[], None] = lambda: None) -> None:  # fmt: skip
    import imageio_ffmpeg

    writer = imageio_ffmpeg.write_frames(
        str(path),
        size,
        fps=fps,
        codec="libx264",
        pix_fmt_in="rgba",
        pix_fmt_out="yuv420p",
        quality=None,
        macro_block_size=1,
        ffmpeg_log_level="error",
        # Plots are flat colour and thin lines: CRF 18 keeps them crisp at a few hundred kB.
        output_params=[
            "-crf",
            "18",
            "-preset",
            "veryfast",
            "-tune",
            "animation",
            "-movflags",
            "+faststart",
            "-threads",
            "2",
            "-map_metadata",
            "-1",
        ],  # fmt: skip
    )
    with warnings.catch_warnings():
        # JAX warns about any fork; this one is subprocess starting ffmpeg, which execs at once.
        warnings.filterwarnings("ignore", message="os.fork", category=RuntimeWarning)
        writer.send(None)
    try:
        for rgba in frames:
            writer.send(rgba.tobytes())
            tick()
    finally:
        writer.close()
