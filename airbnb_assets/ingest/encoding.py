"""Which text encoding a landed file is in, decided from the bytes themselves.

The rule, in order (the first that applies wins):

1. **A byte-order mark** of UTF-32 or UTF-16 (little or big endian): that encoding. The whole file
   must then decode strictly, or it is rejected.
2. **Strict UTF-8** (with or without a BOM): every byte of the file decodes as UTF-8.
3. Otherwise a **single-byte** encoding, by elimination on the bytes ``0x80``–``0xFF`` that occur:

   * ``windows-1252`` (cp1252, the Windows / Excel export) is possible unless one of its five
     undefined bytes ``0x81 0x8D 0x8F 0x90 0x9D`` occurs. It also covers ISO-8859-1 (Latin-1):
     the two differ only on ``0x80``–``0x9F``, which are C1 control codes in Latin-1 and never
     occur in text, so a Latin-1 file decodes identically as windows-1252.
   * ``x-MacRoman`` (a spreadsheet re-save on a Mac) maps every byte to a printable character,
     so it is always possible.

   If only Mac Roman is left, it is chosen: that is how the two historic snapshots of 2016-07-02
   and 2017-03-02 are recognised (both contain bytes undefined in windows-1252). If both are
   possible, `charset-normalizer <https://charset-normalizer.readthedocs.io>`_ ranks them on the
   lines that hold non-ASCII bytes: the less "messy" decoding wins (``Café crème`` rather than
   ``CafÈ crËme``). On a tie (a handful of accents can read plausibly both ways) or without a
   verdict, windows-1252, by far the commoner of the two for files made today.

Encodings are named by their Java charset name, as Spark's CSV reader needs them; Python's codec
of each is :data:`PYTHON_CODECS`.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field

UTF8, UTF16, UTF32, CP1252, MAC_ROMAN = "UTF-8", "UTF-16", "UTF-32", "windows-1252", "x-MacRoman"
#: Java charset name → Python codec (``utf-8-sig`` drops a UTF-8 BOM; UTF-16/32 read their BOM).
PYTHON_CODECS: dict[str, str] = {
    UTF8: "utf-8-sig",
    UTF16: "utf-16",
    UTF32: "utf-32",
    CP1252: "cp1252",
    MAC_ROMAN: "mac_roman",
}
#: Byte-order marks, longest first (the UTF-32 LE mark starts with the UTF-16 LE one).
BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, UTF32),
    (codecs.BOM_UTF32_BE, UTF32),
    (codecs.BOM_UTF16_LE, UTF16),
    (codecs.BOM_UTF16_BE, UTF16),
)
#: Bytes that windows-1252 leaves undefined.
CP1252_UNDEFINED = frozenset(b"\x81\x8d\x8f\x90\x9d")
#: Bytes of non-ASCII lines kept as the detector's sample.
SAMPLE_BYTES = 256 * 1024
_ASCII = bytes(range(128))


def bom_encoding(start: bytes) -> str | None:
    """UTF-32 or UTF-16 when ``start`` (the first bytes of the text) begins with its BOM."""
    for bom, name in BOMS:
        if start.startswith(bom):
            return name
    return None


def _byte_list(values: set[int]) -> str:
    return " ".join(f"0x{b:02X}" for b in sorted(values))


def rank_single_byte(sample: bytes) -> tuple[str, str]:
    """windows-1252 or Mac Roman for ``sample`` by charset-normalizer, and the evidence."""
    from charset_normalizer import from_bytes

    matches = from_bytes(sample, cp_isolation=["cp1252", "mac_roman"], threshold=1.0)
    ranked = sorted(matches, key=lambda m: (round(m.chaos, 3), m.encoding != "cp1252"))
    if not ranked:
        return CP1252, "charset-normalizer gave no verdict; windows-1252 by default"
    best = ranked[0]
    name = MAC_ROMAN if best.encoding == "mac_roman" else CP1252
    scores = ", ".join(f"{m.encoding} mess {m.chaos:.3f}" for m in ranked)
    return name, f"charset-normalizer on the non-ASCII lines: {scores}"


@dataclass
class EncodingSniffer:
    """Feed a file's (decompressed) bytes in order with :meth:`feed`; :meth:`result` decides.

    ``start`` is the first chunk, read for a byte-order mark. Memory stays bounded: besides a
    decoder's state it keeps the set of non-ASCII byte values seen and up to
    :data:`SAMPLE_BYTES` of non-ASCII lines.
    """

    start: bytes
    bom: str | None = field(init=False)
    valid: bool = field(init=False, default=True)
    high_bytes: set[int] = field(init=False, default_factory=set)
    sample: bytearray = field(init=False, default_factory=bytearray)

    def __post_init__(self) -> None:
        self.bom = bom_encoding(self.start)
        self._decoder = codecs.getincrementaldecoder(PYTHON_CODECS[self.bom or UTF8])()

    def feed(self, chunk: bytes) -> None:
        """Take the next chunk of the file."""
        if self.valid:
            try:
                self._decoder.decode(chunk)
            except UnicodeDecodeError:
                self.valid = False
        if self.bom is None and not chunk.isascii():
            self.high_bytes.update(chunk.translate(None, _ASCII))
            if len(self.sample) < SAMPLE_BYTES:
                for line in chunk.split(b"\n"):
                    if not line.isascii():
                        self.sample += line + b"\n"

    def result(self) -> tuple[str | None, str]:
        """The Java charset name and the evidence; ``None`` if a BOM's encoding does not decode."""
        if self.valid:
            try:
                self._decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                self.valid = False
        if self.bom is not None:
            if not self.valid:
                return None, f"{self.bom} byte-order mark, but the content is not valid {self.bom}"
            return self.bom, f"{self.bom} byte-order mark"
        if self.valid:
            return UTF8, "strict UTF-8"
        undefined = self.high_bytes & CP1252_UNDEFINED
        if undefined:
            return MAC_ROMAN, (
                f"not UTF-8; bytes {_byte_list(undefined)} are undefined in windows-1252: Mac Roman"
            )
        return rank_single_byte(bytes(self.sample))
