"""argparse that reports a bad command line as one UserError line instead of usage + exit."""

from __future__ import annotations

import argparse
from typing import NoReturn

from pairterm.errors import UserError


class ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UserError(f"{self.prog}: {message} (see --help)")
