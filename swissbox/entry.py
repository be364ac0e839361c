"""The `swissbox` console script: verbs that need no server code start without importing it.

``swissbox tnef ...`` goes to the pure TNEF library at once (no auth, TLS, store or protocol
imports: it is run over folders of files, once per file); everything else goes to ``cli.main``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `swissbox` command; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["tnef"]:
        from swissbox.tnef.command import main as tnef_main

        return tnef_main(args[1:])
    from swissbox.cli import main as cli_main

    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main())
