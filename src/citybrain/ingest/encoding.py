"""Character-encoding detection and streaming transcoding for department files (归集).

Department exports arrive as UTF-8, UTF-8 with a BOM (Excel's "CSV UTF-8") or GB18030 and its
subsets GBK / GB2312 (Excel's default "CSV" on a Chinese Windows). Detection is deterministic
first and statistical only as a last resort, see :func:`detect_encoding`.
"""

from __future__ import annotations

import codecs
import io
from pathlib import Path
from typing import BinaryIO

from citybrain.errors import Invalid

#: bytes looked at to decide the encoding; large enough to reach past an ASCII-only header
SAMPLE_BYTES = 1 << 20

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (b"\x84\x31\x95\x33", "gb18030"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

# GB2312 ⊂ GBK ⊂ GB18030: decoding a file labelled with a subset as GB18030 gives the same text and
# does not fail on characters the label's table lacks (common in names, e.g. 䶮 or 𠮷).
_ALIASES = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "cp936": "gb18030",
    "euc-cn": "gb18030",
    "euc_cn": "gb18030",
    "gb18030": "gb18030",
    "utf8": "utf-8",
    "utf-8": "utf-8",
    "utf_8": "utf-8",
    "utf-8-sig": "utf-8-sig",
    "utf_8_sig": "utf-8-sig",
}


# Encodings a partner plausibly uses when a file is neither UTF-8 nor GB18030.
_PLAUSIBLE_OTHERS = frozenset({"big5", "big5hkscs", "cp950", "utf-16", "utf-16-le", "utf-16-be", "utf-32"})


def normalize_encoding(name: str) -> str:
    """Canonical codec name; GBK and GB2312 become GB18030 (their superset)."""
    key = name.strip().lower()
    if key in _ALIASES:
        return _ALIASES[key]
    try:
        return codecs.lookup(key).name
    except LookupError:
        raise Invalid(f"不支持的字符编码：{name}", details={"encoding": name}) from None


def _decodes(sample: bytes, encoding: str, *, truncated: bool) -> bool:
    # An incremental decoder tolerates a multi-byte character cut off at the end of the sample.
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        decoder.decode(sample, final=not truncated)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(sample: bytes, *, truncated: bool = True) -> str:
    """Encoding of ``sample`` (the first bytes of a file): ``utf-8-sig``, ``utf-8``, ``gb18030`` or other.

    Order: a byte-order mark; then a strict UTF-8 decode (random GB18030 text almost never forms
    valid UTF-8, so success is conclusive); then a strict GB18030 decode. charset-normalizer is
    asked only when both fail: it is statistical, slow on large samples, and on short Chinese text
    it is known to mistake GBK for Big5 or CP949, so it must not overrule the deterministic checks.
    Its answer is taken only when it is an encoding partners really use (Big5 with bytes GB18030
    rejects, UTF-16/32); anything else means a damaged file, reported with its first bad line.
    Big5 text is usually also valid GB18030 byte for byte, so Big5 files need ``encoding="big5"``.
    """
    for bom, name in _BOMS:
        if sample.startswith(bom):
            return name
    if _decodes(sample, "utf-8", truncated=truncated):
        return "utf-8"
    if _decodes(sample, "gb18030", truncated=truncated):
        return "gb18030"
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    guess = normalize_encoding(best.encoding) if best is not None else None
    if guess in _PLAUSIBLE_OTHERS:
        return guess
    # Anything else it proposes (cp1006, mac_roman…) is a guess over a damaged GB18030/UTF-8 file;
    # naming the bad line helps the department far more than a page of mojibake.
    line = _first_bad_line(sample, "gb18030")
    raise Invalid(
        f"无法识别文件的字符编码：第 {line} 行起既不是 UTF-8 也不是 GB18030/GBK，请另存为 UTF-8 后重新上传",
        details={"line": line, "guess": guess},
    )


def _first_bad_line(sample: bytes, encoding: str) -> int:
    try:
        codecs.getincrementaldecoder(encoding)(errors="strict").decode(sample, final=False)
    except UnicodeDecodeError as exc:
        return sample[: exc.start].count(b"\n") + 1
    return 1


def detect_file_encoding(path: str | Path, sample_bytes: int = SAMPLE_BYTES) -> str:
    """:func:`detect_encoding` over the first ``sample_bytes`` of a file."""
    with open(path, "rb") as fh:
        sample = fh.read(sample_bytes)
        truncated = bool(fh.read(1))
    return detect_encoding(sample, truncated=truncated)


class TranscodingReader(io.RawIOBase):
    """A binary stream yielding UTF-8 for a source in another encoding, decoded chunk by chunk.

    Memory stays at a few chunks whatever the file size. A byte sequence that is not valid in the
    source encoding raises :class:`~citybrain.errors.Invalid` naming the file and line, because
    pyarrow would otherwise report only an offset into the transcoded stream.
    """

    def __init__(self, raw: BinaryIO, encoding: str, *, name: str = "", chunk_size: int = 4 << 20) -> None:
        super().__init__()
        self._raw = raw
        self._encoding = encoding
        self._name = name
        self._chunk_size = chunk_size
        self._decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
        self._pending = b""
        self._pos = 0
        self._eof = False
        #: newlines already decoded, so a decode error can name its line
        self._lines = 0

    def readable(self) -> bool:
        return True

    def _fill(self) -> None:
        while self._pos >= len(self._pending) and not self._eof:
            chunk = self._raw.read(self._chunk_size)
            self._eof = not chunk
            try:
                text = self._decoder.decode(chunk, final=self._eof)
            except UnicodeDecodeError as exc:
                line = self._lines + exc.object[: exc.start].count(b"\n") + 1
                raise Invalid(
                    f"文件 {self._name} 第 {line} 行：含有不是 {self._encoding.upper()} 编码的字节",
                    details={"file": self._name, "line": line, "encoding": self._encoding},
                ) from exc
            self._lines += text.count("\n")
            self._pending = text.encode("utf-8")
            self._pos = 0

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        self._fill()
        # An offset instead of slicing the pending bytes keeps small reads from copying megabytes.
        n = min(len(buffer), len(self._pending) - self._pos)
        buffer[:n] = self._pending[self._pos : self._pos + n]
        self._pos += n
        return n

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()
