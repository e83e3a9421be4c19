"""The ``indexgate`` command: parses arguments, runs flows, prints results (``--json`` for scripts).

Exit codes:

- 0: success (promoted, unchanged, done);
- 3: the sync finished but the version was rejected or rolled back by the smoke check (the alias
  still serves the previous version), or no experiment configuration met the selection rule;
- 1: error;
- 2: bad usage.

The parts: :mod:`~indexgate.cli.parser` (arguments), :mod:`~indexgate.cli.commands` (what each
subcommand does) and :mod:`~indexgate.cli.output` (what it prints).
"""

from __future__ import annotations

import os
import sys

from indexgate.cli.commands import EXIT_ERROR, EXIT_OK, EXIT_REJECTED, EXIT_USAGE, alias_moves, settings_of
from indexgate.cli.output import print_moves
from indexgate.cli.parser import build_parser

__all__ = ["EXIT_ERROR", "EXIT_OK", "EXIT_REJECTED", "EXIT_USAGE", "build_parser", "main", "offline_environment"]


def offline_environment() -> None:
    """Defaults for running on one offline machine; anything the user set wins."""
    for key, value in {
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "TRANSFORMERS_VERBOSITY": "error",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        # The temporary local API a flow starts can need more than Prefect's 20 s on a busy machine.
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
        # The library logs with the standard logging module; let Prefect show those lines too.
        "PREFECT_LOGGING_EXTRA_LOGGERS": "indexgate",
        # Library log lines outside a flow run (e.g. `indexgate search`) stay local, without a warning.
        "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
    }.items():
        os.environ.setdefault(key, value)


def _full_state_folder(args, exc: OSError) -> str:
    """For a full disk met by a write that named no file: the state folder, when it is the full one."""
    import errno
    import shutil

    if exc.filename is not None or exc.errno not in (errno.ENOSPC, errno.EDQUOT):
        return ""
    try:
        home = settings_of(args).home
        free = shutil.disk_usage(home).free
    except Exception:  # noqa: BLE001 - only a detail of a message
        return ""
    return f" (the state folder {home}, {free:,} bytes free)" if free < 16 << 20 else ""


def _preflight(args) -> None:
    """What can be checked without a flow, before Prefect starts: a bad config, policy, golden
    set, grid, source, state folder or model fails in about a second, with one line."""
    from indexgate import preflight

    settings = settings_of(args)  # the config and policy files, parsed and validated
    preflight.check_state_dir(settings.home)
    if args.command in ("sync", "eval", "experiment"):
        preflight.check_run(settings, getattr(args, "alias", None), args.source, args.golden)
    if args.command == "experiment":
        from indexgate.experiment.grid import load_grid

        load_grid(args.grid)
    if args.command in ("gc", "rollback"):  # before the lock or resources() create any folder
        preflight.check_known_alias(settings.home, args.alias, getattr(args, "to", None))


def _run(args) -> int:
    """Run the command. After a failed sync, first say where the alias moved during it (a
    failure after the promotion must not read as "nothing happened"), then let the error out."""
    moves_before = len(alias_moves(args)) if args.command == "sync" else None
    try:
        return args.func(args)
    except BaseException:
        if moves_before is not None:
            print_moves(args.alias, alias_moves(args)[moves_before:], args.json)
        raise


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    for name in ("k", "chunk_size"):
        if getattr(args, name, None) is not None and getattr(args, name) < 1:
            print(f"indexgate: error: --{name.replace('_', '-')} must be at least 1", file=sys.stderr)
            return EXIT_USAGE
    if getattr(args, "alias", None) is not None:
        # Before any flow starts: the flows' typed parameters would refuse it with a regex.
        from indexgate.errors import ConfigError
        from indexgate.lifecycle.versioning import validate_alias

        try:
            validate_alias(args.alias)
        except ConfigError as exc:
            print(f"indexgate: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
    offline_environment()
    import logging

    logging.getLogger("indexgate").setLevel(logging.INFO)
    from indexgate import resources
    from indexgate.errors import IndexGateError, first_line, os_error_text

    try:
        _preflight(args)
        return _run(args)
    except IndexGateError as exc:
        print(f"indexgate: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as exc:  # the machine refused (disk full, permissions): say what and where
        print(f"indexgate: error: {os_error_text(exc)}{_full_state_folder(args, exc)}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # noqa: BLE001 - a bug, still reported as one line (the flow's log has the traceback)
        print(f"indexgate: error: unexpected {type(exc).__name__}: {first_line(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("indexgate: interrupted", file=sys.stderr)
        return 130
    finally:
        resources.reset()  # release embedded Qdrant's lock cleanly, not in interpreter shutdown

