"""Runs REPL inputs in one persistent namespace, echoing expression values like `python -i`."""

from __future__ import annotations

import ast
import builtins
import contextlib
import linecache
import sys
import traceback
from typing import Any, TextIO


class Runner:
    """Executes source; every exception (KeyboardInterrupt and SystemExit included) prints a
    traceback to `stderr` and returns False, so the REPL lives on."""

    def __init__(
        self,
        namespace: dict[str, Any] | None = None,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
    ) -> None:
        self.namespace: dict[str, Any] = (
            namespace
            if namespace is not None
            else {"__name__": "__console__", "__doc__": None, "__builtins__": builtins}
        )
        self.stdout = stdout
        self.stderr = stderr
        self.count = 0

    def run(self, source: str) -> bool:
        self.count += 1
        filename = f"<repl-{self.count}>"
        # Registered so that tracebacks can quote the lines the user typed.
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        out = self.stdout or sys.stdout
        err = self.stderr or sys.stderr
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                codes = self._compile(source, filename)
            except (SyntaxError, ValueError, OverflowError) as exc:
                print("".join(traceback.format_exception_only(type(exc), exc)), end="", file=err)
                return False
            saved_hook, sys.displayhook = sys.displayhook, self._display
            try:
                for code in codes:
                    exec(code, self.namespace)
            except BaseException as exc:  # noqa: B036 - user code may raise anything
                self._show(exc, err)
                return False
            finally:
                sys.displayhook = saved_hook
                out.flush()
        return True

    def _display(self, value: object) -> None:
        """Echo an expression's value; `_` is kept in the session's namespace, not builtins."""
        if value is None:
            return
        print(repr(value), file=sys.stdout)
        self.namespace["_"] = value

    @staticmethod
    def _compile(source: str, filename: str) -> list[Any]:
        """All statements as one 'exec' block, except a final expression, which is compiled in
        'single' mode so that its value is printed (and bound to `_`) as in `python -i`."""
        tree = ast.parse(source, filename, "exec")
        body = tree.body
        codes = []
        last = body[-1] if body and isinstance(body[-1], ast.Expr) else None
        head = body[:-1] if last is not None else body
        if head:
            codes.append(compile(ast.Module(body=head, type_ignores=[]), filename, "exec"))
        if last is not None:
            codes.append(compile(ast.Interactive(body=[last]), filename, "single"))
        return codes

    @staticmethod
    def _show(exc: BaseException, err: TextIO) -> None:
        tb = exc.__traceback__
        # Drop our own frame: the traceback starts at the user's code.
        tb = tb.tb_next if tb is not None else None
        traceback.print_exception(type(exc), exc, tb, file=err)
        if isinstance(exc, SystemExit):
            print("(the REPL keeps running; Ctrl+D leaves)", file=err)
