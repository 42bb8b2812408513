"""Output on streams that cannot encode Unicode (``PYTHONIOENCODING=ascii``, ``LANG=C`` on an old
system, a Windows code page): no crash, and text a person can still read.

gdfit's tables and messages use a few symbols (≤, ‖∇f‖, θ, R², —, box lines). On a stream whose
encoding lacks them, :func:`protect` installs the ``gdfit-ascii`` error handler, which writes each
symbol as its ASCII name (``≤`` → ``<=``, ``‖∇f‖`` → ``||grad f||``, ``²`` → ``^2``) and any other
character as a ``\\uXXXX`` escape, which is also a valid escape inside a JSON string. JSON output
avoids even that: it is written with ``ensure_ascii`` (:func:`ascii_only`), so its text is exact.
Rich draws ASCII boxes by itself on such a stream.
"""

from __future__ import annotations

import codecs
import sys
from typing import TextIO

HANDLER = "gdfit-ascii"

#: gdfit's own symbols and their ASCII names.
NAMES = {
    "−": "-", "–": "-", "—": "-", "…": "...", "·": "*", "×": "x", "±": "+/-", "½": "1/2",
    "≤": "<=", "≥": ">=", "≈": "~", "≫": ">>", "∈": " in ", "∞": "inf", "√": "sqrt",
    "←": "<-", "→": "->", "↦": "|->", "⇔": "<=>", "‖": "||", "∇": "grad ", "∂": "d",
    "Σ": "sum", "Δ": "Delta", "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta",
    "ε": "eps", "η": "eta", "θ": "theta", "κ": "kappa", "λ": "lambda", "µ": "u", "ρ": "rho",
    "σ": "sigma", "τ": "tau", "φ": "phi", "ŷ": "y_hat", "ᵀ": "^T", "ᵗ": "^t", "ᵏ": "^k",
    "ᵢ": "i", "ⱼ": "j", "ₐ": "a", "⁻": "^-", "⚠": "!", "✓": "ok",
    **{sup: f"^{digit}" for digit, sup in enumerate("⁰¹²³⁴⁵⁶⁷⁸⁹")},
    **{sub: str(digit) for digit, sub in enumerate("₀₁₂₃₄₅₆₇₈₉")},
    # Box lines, for text drawn outside Rich's own ASCII boxes.
    **dict.fromkeys("─━═┄┈", "-"), **dict.fromkeys("│┃║┆┊", "|"),
    **dict.fromkeys("┌┐└┘├┤┬┴┼┏┓┗┛┣┫┳┻╋┡┩╇╭╮╯╰", "+"),
    # The terminal plot's marks (block elements and dots).
    **{chr(code): "*" for code in range(0x2580, 0x25A0)}, "•": "*",
}
#: Characters whose absence from an encoding makes gdfit use its ASCII forms.
PROBE = "≤‖θ−…━"


def _escape(char: str) -> str:
    """``\\uXXXX`` (two of them, a surrogate pair, beyond the BMP): readable, and valid JSON."""
    code = ord(char)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def _replace(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    text = error.object[error.start:error.end]
    return "".join(NAMES.get(char) or _escape(char) for char in text), error.end


codecs.register_error(HANDLER, _replace)


def encodes(stream: TextIO | None, text: str = PROBE) -> bool:
    """Whether ``stream``'s encoding can write ``text`` (True for a stream without one)."""
    encoding = getattr(stream, "encoding", None)
    if not encoding:
        return True
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def ascii_only(stream: TextIO | None = None) -> bool:
    """Whether to write JSON with ASCII escapes: ``stream`` (default: standard output) cannot
    encode gdfit's symbols."""
    return not encodes(sys.stdout if stream is None else stream)


def protect(stream: TextIO | None) -> None:
    """Let ``stream`` write any text: install the ``gdfit-ascii`` error handler when its encoding
    cannot write gdfit's symbols (streams that can, or cannot be reconfigured, are left as
    they are)."""
    if stream is None or encodes(stream):
        return
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(errors=HANDLER)
