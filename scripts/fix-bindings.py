#!/usr/bin/env python3
"""Makes the generated bindings' RapportError message the plain sentence.

Every RapportError variant carries a field called `message` (the sentence to
show) next to its data (`retry_after_ms`, `unsent`). uniffi 0.32 generates
Kotlin for such a field that does not compile: the variant declares
`val message` without `override` and also overrides Throwable.message with
"message=..., retryAfterMs=..." (uniffi-rs issues 1434 and 2065, open). For
Python it makes str(e) that same "message='...', retry_after_ms=..." text.
This script, run by scripts/bindings.sh after generation, makes the Kotlin
field the override of Throwable.message and Python's str(e) the message. It
fails (exit 1) when the generated code is not shaped as expected, e.g. after a
uniffi upgrade, instead of leaving bindings that do not compile.

    scripts/fix-bindings.py KOTLIN_FILE PYTHON_FILE
"""

import re
import sys

KOTLIN_CLASS = "sealed class RapportException: kotlin.Exception()"
KOTLIN_END = "companion object ErrorHandler : UniffiRustCallStatusErrorHandler<RapportException>"
PYTHON_PATCH = """

# Added by scripts/fix-bindings.py: str(e) is the error's plain message.
def _uniffi_rapport_error_str(self):
    return self.message


RapportError.__str__ = _uniffi_rapport_error_str  # type: ignore
"""


def fail(message: str):
    sys.exit(f"fix-bindings.py: {message}; the uniffi templates changed: update scripts/fix-bindings.py")


def fix_kotlin(path: str):
    source = open(path, encoding="utf-8").read()
    start = source.find(KOTLIN_CLASS)
    end = source.find(KOTLIN_END, start)
    if start < 0 or end < 0:
        fail(f"no {KOTLIN_CLASS!r} in {path}")
    block = source[start:end]
    variants = len(re.findall(r"\) : RapportException\(\) \{", block))
    block, fields = re.subn(r"(?m)^(\s*)val `message`: kotlin\.String\b", r"\1override val `message`: kotlin.String", block)
    block, getters = re.subn(r'\n\s*override val message\n\s*get\(\) = "message=[^\n]*"', "", block)
    if not variants or fields != variants or getters != variants:
        fail(f"expected {variants} variants with a message field and getter, found {fields} and {getters}")
    open(path, "w", encoding="utf-8").write(source[:start] + block + source[end:])


def fix_python(path: str):
    source = open(path, encoding="utf-8").read()
    if "class RapportError(Exception):" not in source or "self.message = message" not in source:
        fail(f"no RapportError with a message field in {path}")
    if "_uniffi_rapport_error_str" not in source:
        open(path, "a", encoding="utf-8").write(PYTHON_PATCH)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    fix_kotlin(sys.argv[1])
    fix_python(sys.argv[2])
