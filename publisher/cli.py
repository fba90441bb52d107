"""The ``publisher`` command: check, reload, serve, settings."""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import sys
from dataclasses import replace
from functools import partial
from pathlib import Path

from publisher.config import PREFIX, SETTINGS, SettingError, Settings, load_settings
from publisher.directory.validate import check_directory
from publisher.model.errors import PublisherError


def _settings(args: argparse.Namespace) -> Settings:
    """The settings of this command: ``PUBLISHER_*`` variables, then its options. With
    --data of another folder and no database named, a database of its own (database_for);
    with --host or --port and no PUBLISHER_BASE_URL, links lead back to the address served."""
    given = {name: getattr(args, name, None) for name in ("data", "database", "host", "port")}
    overrides = {name: value for name, value in given.items() if value is not None}
    if given["data"] and not given["database"] and PREFIX + "DATABASE" not in os.environ:
        overrides["database"] = database_for(given["data"])  # never loads into another site's
    settings = load_settings(overrides)
    if (given["host"] or given["port"]) and PREFIX + "BASE_URL" not in os.environ:
        return _served_here(settings)
    return settings


def _served_here(settings: Settings) -> Settings:
    """Links that lead back to HOST and PORT, unless that is every address."""
    if settings.host in ("0.0.0.0", "::"):  # noqa: S104 - compared, not bound
        print(
            "Listening on every address: set PUBLISHER_BASE_URL to the address people "
            "use, or links in feeds and pages will point at 127.0.0.1.",
            file=sys.stderr,
        )
        return settings
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    return replace(settings, base_url=f"http://{host}:{settings.port}")


def database_for(data: str) -> str:
    """The default database of another data folder: its own file beside the default one,
    so serving examples/meetings never loads it over the directory's history (which the
    mass-removal guard would refuse) nor mixes the two."""
    default = load_settings({}).database
    if Path(data).resolve() == Path(load_settings({}).data).resolve():
        return default
    folder = Path(data).resolve()
    name = "-".join(part for part in folder.parts[-2:] if part not in ("/", ""))
    slug = "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")
    # The folder's whole path in a few characters: two folders whose last two names are
    # the same (x1/proj/data, x2/proj/data) still get a database each.
    mark = hashlib.sha256(str(folder).encode()).hexdigest()[:8]
    return str(Path(default).parent / f"publisher-{slug}-{mark}.sqlite3")


def cmd_check(args: argparse.Namespace) -> int:
    """Validate the data folder; print every problem; exit 1 if any is an error."""
    from publisher.store import history
    from publisher.store.db import open_read_only

    settings = _settings(args)
    folder = Path(settings.data)
    # What is published, if anything: a slug used twice is then reported at the new group.
    conn = open_read_only(settings.database)
    try:
        owner = partial(history.owner, conn) if conn is not None else None
        directory, problems = check_directory(folder, owner=owner)
    finally:
        if conn is not None:
            conn.close()
    for problem in problems:
        print(problem, file=sys.stderr)
    if directory is None:
        errors = sum(not p.warning for p in problems)
        print(
            f"{folder}: {errors} error(s). Nothing can be published until they are fixed.",
            file=sys.stderr,
        )
        return 1
    print(
        f"{folder}: OK, {len(directory.groups)} groups in {len(directory.categories)} categories."
    )
    return 0


def cmd_reload(args: argparse.Namespace) -> int:
    """Load the data into the database and publish it; a running server picks it up."""
    from publisher.publish import Publisher

    publisher = Publisher(_settings(args))
    try:
        result = publisher.reload(confirm_removals=args.confirm_removals, adopt=args.adopt)
    except PublisherError as exc:
        print(exc, file=sys.stderr)
        return 1
    finally:
        publisher.close()
    print(result)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the directory's pages, feeds and calendars over HTTP until stopped with Ctrl-C;
    a data file changed while serving is loaded by itself."""
    from publisher.server import serve

    return serve(_settings(args), args.adopt)


def cmd_worker(args: argparse.Namespace) -> int:
    """Run the delivery worker on its own (publisher serve runs one unless PUBLISHER_WORKER=0).

    It verifies subscriptions and sends deliveries and pings from the database until
    stopped with Ctrl-C or SIGTERM; several may run at once."""
    import signal
    import threading

    from publisher.hub.worker import Worker
    from publisher.publish import utc_now
    from publisher.store.db import connect

    settings = _settings(args)
    connect(settings.database, migrate=True).close()  # once, before the worker's connection
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print(f"Delivery worker on {settings.database}; stop with Ctrl-C.", file=sys.stderr)
    Worker(settings, utc_now).run(stop)
    return 0


def cmd_hub(args: argparse.Namespace) -> int:
    """Look at and act on the hub's subscriptions and delivery queue (secrets never shown)."""
    from publisher.publish import utc_now
    from publisher.store import deliveries, subscriptions
    from publisher.store.db import connect

    conn = connect(_settings(args).database, migrate=True)
    try:
        if args.action == "subscriptions":
            rows = subscriptions.listing(conn)
            for r in rows:
                signed = "signed" if r["signed"] else "unsigned"
                print(f"{r['id']}  {r['topic']}  {r['callback']}  until {r['expires']}  {signed}")
            print(f"{len(rows)} subscription(s).", file=sys.stderr)
            return 0
        if args.action == "deliveries":
            rows = deliveries.listing(conn)
            for r in rows:
                note = f"  last error: {r['last_error']}" if r["last_error"] else ""
                print(
                    f"{r['id']}  {r['url']}  {r['key']}  due {r['due']}  "
                    f"attempts {r['attempts']}{note}"
                )
            print(f"{len(rows)} delivery(ies) queued.", file=sys.stderr)
            return 0
        if args.action == "failures":
            rows = deliveries.failures(conn)
            for r in rows:
                print(
                    f"{r['id']}  {r['url']}  {r['key']}  {r['attempts']} attempts, "
                    f"{r['first']} to {r['last']}: {r['error']}"
                )
            print(f"{len(rows)} delivery(ies) given up.", file=sys.stderr)
            return 0
        act = {
            "retry": lambda i: deliveries.retry_now(conn, i, utc_now()),
            "drop": lambda i: deliveries.drop(conn, i),
            "end": lambda i: subscriptions.end(conn, i),
        }[args.action]
        if act(args.id):
            print("Done.")
            return 0
        what = "subscription" if args.action == "end" else "queued delivery"
        print(f"There is no {what} {args.id}; list them with publisher hub.", file=sys.stderr)
        return 1
    finally:
        conn.close()


def cmd_settings(args: argparse.Namespace) -> int:
    """Print every setting with its value now (secrets hidden), as it is written in the
    environment: 1 or 0 for yes or no."""
    settings = load_settings()
    for setting in SETTINGS:
        value = getattr(settings, setting.name.lower())
        if setting.secret and value:
            value = "(set)"
        elif isinstance(value, bool):
            value = int(value)
        print(f"PUBLISHER_{setting.name}={value}\n    {setting.help}")
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="publisher", description="Publish a community directory as pages and feeds."
    )
    sub = top.add_subparsers(dest="command", required=True)

    def data_args(p: argparse.ArgumentParser, database: bool = True) -> None:
        p.add_argument("--data", help="data folder (default: PUBLISHER_DATA or ./data)")
        if database:
            p.add_argument(
                "--database",
                help="SQLite file (default: PUBLISHER_DATABASE; with --data of another "
                "folder, a file of its own such as "
                "instance/publisher-examples-meetings-1a2b3c4d.sqlite3)",
            )

    def adopt_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--adopt",
            action="store_true",
            help="publish this data folder although the database published another one until "
            "now (the directory moved); without it, another folder is refused",
        )

    p = sub.add_parser(
        "check",
        help="validate the data files and list every problem",
        description=_describe(cmd_check),
    )
    data_args(p, database=False)
    p.set_defaults(func=cmd_check)
    p = sub.add_parser(
        "reload", help="load the data and publish it now", description=_describe(cmd_reload)
    )
    data_args(p)
    p.add_argument(
        "--confirm-removals",
        action="store_true",
        help="allow a load that removes more than half of the groups",
    )
    adopt_arg(p)
    p.set_defaults(func=cmd_reload)
    p = sub.add_parser(
        "serve", help="serve the directory over HTTP", description=_describe(cmd_serve)
    )
    data_args(p)
    p.add_argument("--host", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=int, help="port to listen on (default: 8000)")
    adopt_arg(p)
    p.set_defaults(func=cmd_serve)
    p = sub.add_parser(
        "worker", help="run the delivery worker on its own", description=_describe(cmd_worker)
    )
    p.add_argument("--database", help="SQLite file (default: PUBLISHER_DATABASE)")
    p.set_defaults(func=cmd_worker)
    p = sub.add_parser(
        "hub", help="list or act on subscriptions and deliveries", description=_describe(cmd_hub)
    )
    actions = p.add_subparsers(dest="action", required=True)
    for name, text in (
        ("subscriptions", "list subscriptions (without secrets)"),
        ("deliveries", "list queued deliveries and pings"),
        ("failures", "list deliveries given up"),
        ("retry", "send a queued delivery now"),
        ("drop", "remove a queued delivery"),
        ("end", "end a subscription (its queued deliveries go too)"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("--database", help="SQLite file (default: PUBLISHER_DATABASE)")
        if name in ("retry", "drop", "end"):
            action.add_argument("id", type=int, help="its number, as listed")
    p.set_defaults(func=cmd_hub)
    p = sub.add_parser(
        "settings",
        help="show every PUBLISHER_* setting and its value",
        description=_describe(cmd_settings),
    )
    p.set_defaults(func=cmd_settings)
    return top


def _describe(command: object) -> str:
    """A subcommand's --help text: the first paragraph of its docstring."""
    return (getattr(command, "__doc__", "") or "").split("\n\n")[0]


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = parser().parse_args(argv)
    try:
        code = args.func(args)
        sys.stdout.flush()
        return code
    except SettingError as exc:
        print(exc, file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader stopped early (publisher settings | head). Python would fail again
        # flushing standard output at exit, so it goes nowhere from now on (the Python
        # documentation's recipe, "Note on SIGPIPE").
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
