"""Line-level reading of Python-like code, shared by the gate and the REPL's auto-indent.

One-line strings and trailing comments are recognised (with backslash escapes); that is enough
for indentation decisions without a parser, which code being typed would not satisfy anyway.
"""

from __future__ import annotations


def code_part(line: str) -> str:
    """The line without its trailing `#` comment."""
    quote, i = "", 0
    while i < len(line):
        ch = line[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "#":
            return line[:i]
        i += 1
    return line


def bracket_delta(line: str) -> int:
    """Brackets opened minus brackets closed on the line, outside strings and comments."""
    delta, quote, i = 0, "", 0
    code = code_part(line)
    while i < len(code):
        ch = code[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            delta += 1
        elif ch in ")]}":
            delta -= 1
        i += 1
    return delta
