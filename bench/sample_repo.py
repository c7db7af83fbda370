"""A small, fixed Python project for the pipeline benchmarks to document.

Generated (not copied from this repository) so that the figures do not move when tech_writer's
own code changes: the same bytes every run, a git work tree with one commit, modules of a
realistic size (a few hundred lines) so tool results weigh what they weigh in real use.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from bench.corpus import commit_all

__all__ = ["REPORT_PROMPT", "make_sample_repo"]

REPORT_PROMPT = ("Write an architecture overview of this repository: its components, how data "
                 "flows between them, and how it is configured. Cite the code.")

_README = """\
# parcel

Parcel tracks shipments between depots: it stores parcels in SQLite, plans routes over a depot
graph and serves both over a small JSON API.

## Installation

Run `pip install parcel`, then `parcel serve --db parcels.sqlite3` and open
http://localhost:8080/parcels.

## Usage

- `parcel add --from LYS --to CDG --weight 2.5` registers a parcel.
- `parcel route LYS CDG` prints the cheapest route.
- `parcel serve` starts the JSON API.

## Configuration

Settings come from `parcel.toml` or `PARCEL_*` environment variables: the database path, the
listening port and the cost per kilometre.
"""

_PYPROJECT = """\
[project]
name = "parcel"
version = "2.3.0"
description = "Track parcels between depots and plan their routes."
requires-python = ">=3.10"
dependencies = ["click>=8.1"]

[project.scripts]
parcel = "parcel.cli:main"
"""

_INIT = '''\
"""parcel: parcels, depots, routes and the JSON API that serves them."""

from parcel.models import Depot, Parcel
from parcel.store import ParcelStore

__all__ = ["Depot", "Parcel", "ParcelStore"]
__version__ = "2.3.0"
'''


def _models() -> str:
    parts = ['"""The domain objects: depots, parcels and their tracking events."""', "",
             "from __future__ import annotations", "", "from dataclasses import dataclass, field",
             "", ""]
    parts += [textwrap.dedent('''\
        @dataclass(frozen=True)
        class Depot:
            """A depot: a node of the route graph, identified by a three-letter code."""

            code: str
            name: str
            latitude: float
            longitude: float


        @dataclass
        class Parcel:
            """A parcel on its way from one depot to another."""

            parcel_id: int
            origin: str
            destination: str
            weight_kg: float
            events: list[str] = field(default_factory=list)

            def record(self, event: str) -> None:
                """Append a tracking event (arrived, departed, delivered...)."""
                self.events.append(event)

            @property
            def delivered(self) -> bool:
                return bool(self.events) and self.events[-1] == "delivered"
        ''')]
    for index, kind in enumerate(("express", "standard", "economy", "freight", "fragile",
                                  "refrigerated", "oversized", "documents")):
        parts.append(textwrap.dedent(f'''\


            def {kind}_surcharge(weight_kg: float) -> float:
                """Surcharge for a {kind} parcel: a base fee plus a rate per kilogram."""
                base = {index + 1}.5
                per_kg = 0.{index + 2}5
                if weight_kg <= 0:
                    raise ValueError("weight must be positive")
                return round(base + per_kg * weight_kg, 2)
            '''))
    return "\n".join(parts)


def _store() -> str:
    head = textwrap.dedent('''\
        """SQLite-backed storage for parcels and their tracking events."""

        from __future__ import annotations

        import sqlite3
        from collections.abc import Iterator

        from parcel.models import Parcel

        SCHEMA = """
        create table if not exists parcels (
            id integer primary key, origin text, destination text, weight real
        );
        create table if not exists events (parcel_id integer, event text);
        """


        class ParcelStore:
            """Keeps parcels and events in one SQLite database file."""

            def __init__(self, path: str = ":memory:") -> None:
                self.db = sqlite3.connect(path)
                self.db.executescript(SCHEMA)

            def add(self, origin: str, destination: str, weight_kg: float) -> Parcel:
                """Register a parcel and return it with its new id."""
                cursor = self.db.execute(
                    "insert into parcels (origin, destination, weight) values (?, ?, ?)",
                    (origin, destination, weight_kg))
                return Parcel(int(cursor.lastrowid or 0), origin, destination, weight_kg)

            def get(self, parcel_id: int) -> Parcel | None:
                row = self.db.execute("select id, origin, destination, weight from parcels "
                                      "where id = ?", (parcel_id,)).fetchone()
                if row is None:
                    return None
                parcel = Parcel(*row)
                for (event,) in self.db.execute("select event from events where parcel_id = ?",
                                                (parcel_id,)):
                    parcel.record(event)
                return parcel

            def record(self, parcel_id: int, event: str) -> None:
                """Store one tracking event for a parcel."""
                self.db.execute("insert into events values (?, ?)", (parcel_id, event))

            def all(self) -> Iterator[Parcel]:
                for (parcel_id,) in self.db.execute("select id from parcels order by id"):
                    parcel = self.get(parcel_id)
                    if parcel is not None:
                        yield parcel
        ''')
    queries = []
    for column in ("origin", "destination"):
        for order in ("asc", "desc"):
            queries.append(textwrap.dedent(f'''\

                def parcels_by_{column}_{order}(store: ParcelStore, code: str) -> list[int]:
                    """Ids of the parcels whose {column} is ``code``, {order}ending."""
                    rows = store.db.execute(
                        "select id from parcels where {column} = ? order by id {order}", (code,))
                    return [parcel_id for (parcel_id,) in rows]
                '''))
    return head + "\n" + "\n".join(queries)


def _routing() -> str:
    head = textwrap.dedent('''\
        """Route planning over the depot graph: Dijkstra on great-circle distances."""

        from __future__ import annotations

        import heapq
        import math

        from parcel.models import Depot

        EARTH_RADIUS_KM = 6371.0


        def distance_km(a: Depot, b: Depot) -> float:
            """Great-circle distance between two depots (haversine formula)."""
            lat1, lat2 = math.radians(a.latitude), math.radians(b.latitude)
            dlat = lat2 - lat1
            dlon = math.radians(b.longitude - a.longitude)
            h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
            return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


        def cheapest_route(depots: dict[str, Depot], links: dict[str, list[str]], start: str,
                           goal: str, cost_per_km: float = 0.12) -> tuple[float, list[str]]:
            """The cheapest path from ``start`` to ``goal`` and its cost."""
            queue: list[tuple[float, str, list[str]]] = [(0.0, start, [start])]
            seen: set[str] = set()
            while queue:
                cost, code, path = heapq.heappop(queue)
                if code == goal:
                    return cost, path
                if code in seen:
                    continue
                seen.add(code)
                for neighbour in links.get(code, []):
                    step = distance_km(depots[code], depots[neighbour]) * cost_per_km
                    heapq.heappush(queue, (cost + step, neighbour, [*path, neighbour]))
            raise LookupError(f"no route from {start} to {goal}")
        ''')
    helpers = []
    for name in ("north", "south", "east", "west", "coastal", "inland"):
        helpers.append(textwrap.dedent(f'''\

            def {name}_depots(depots: dict[str, Depot]) -> list[str]:
                """Codes of the depots in the {name} region, sorted."""
                chosen = [code for code, depot in depots.items() if _in_{name}(depot)]
                return sorted(chosen)


            def _in_{name}(depot: Depot) -> bool:
                return (hash(("{name}", depot.code)) % 3) == 0
            '''))
    return head + "\n" + "\n".join(helpers)


_CLI = textwrap.dedent('''\
    """The ``parcel`` command: add parcels, plan routes, serve the API."""

    from __future__ import annotations

    import argparse
    import json

    from parcel.api import serve
    from parcel.config import load_settings
    from parcel.store import ParcelStore


    def main(argv: list[str] | None = None) -> int:
        parser = argparse.ArgumentParser(prog="parcel")
        commands = parser.add_subparsers(dest="command", required=True)
        add = commands.add_parser("add", help="register a parcel")
        add.add_argument("--from", dest="origin", required=True)
        add.add_argument("--to", dest="destination", required=True)
        add.add_argument("--weight", type=float, required=True)
        route = commands.add_parser("route", help="print the cheapest route")
        route.add_argument("start")
        route.add_argument("goal")
        commands.add_parser("serve", help="start the JSON API")
        args = parser.parse_args(argv)
        settings = load_settings()
        store = ParcelStore(settings.database)
        if args.command == "add":
            parcel = store.add(args.origin, args.destination, args.weight)
            print(json.dumps({"id": parcel.parcel_id}))
        elif args.command == "route":
            print(f"{args.start} -> {args.goal}")
        else:
            serve(store, port=settings.port)
        return 0
    ''')

_CONFIG = textwrap.dedent('''\
    """Settings from ``parcel.toml`` and ``PARCEL_*`` environment variables."""

    from __future__ import annotations

    import os
    import tomllib
    from dataclasses import dataclass
    from pathlib import Path


    @dataclass(frozen=True)
    class Settings:
        database: str = "parcels.sqlite3"
        port: int = 8080
        cost_per_km: float = 0.12


    def load_settings(path: Path = Path("parcel.toml")) -> Settings:
        """File values first, then environment variables override them."""
        values: dict[str, object] = {}
        if path.is_file():
            values.update(tomllib.loads(path.read_text(encoding="utf-8")).get("parcel", {}))
        if "PARCEL_DATABASE" in os.environ:
            values["database"] = os.environ["PARCEL_DATABASE"]
        if "PARCEL_PORT" in os.environ:
            values["port"] = int(os.environ["PARCEL_PORT"])
        return Settings(**values)  # type: ignore[arg-type]
    ''')


def _api() -> str:
    head = textwrap.dedent('''\
        """The JSON API: a tiny WSGI application over a ParcelStore."""

        from __future__ import annotations

        import json
        from wsgiref.simple_server import make_server

        from parcel.store import ParcelStore


        def application(store: ParcelStore):
            """A WSGI callable answering GET /parcels and GET /parcels/<id>."""

            def app(environ, start_response):
                path = environ.get("PATH_INFO", "/")
                if path == "/parcels":
                    body = [p.__dict__ for p in store.all()]
                    return _json(start_response, "200 OK", body)
                if path.startswith("/parcels/"):
                    parcel = store.get(int(path.rsplit("/", 1)[1]))
                    if parcel is None:
                        return _json(start_response, "404 Not Found", {"error": "no such parcel"})
                    return _json(start_response, "200 OK", parcel.__dict__)
                return _json(start_response, "404 Not Found", {"error": "no such route"})

            return app


        def _json(start_response, status: str, payload: object) -> list[bytes]:
            data = json.dumps(payload).encode()
            start_response(status, [("Content-Type", "application/json"),
                                    ("Content-Length", str(len(data)))])
            return [data]


        def serve(store: ParcelStore, port: int = 8080) -> None:
            """Serve the API until interrupted."""
            with make_server("127.0.0.1", port, application(store)) as server:
                server.serve_forever()
        ''')
    handlers = []
    for status in ("created", "departed", "arrived", "delayed", "delivered", "returned"):
        handlers.append(textwrap.dedent(f'''\

            def mark_{status}(store: ParcelStore, parcel_id: int) -> dict[str, object]:
                """Record that a parcel was {status}; return the JSON answer."""
                if store.get(parcel_id) is None:
                    return {{"error": "no such parcel", "id": parcel_id}}
                store.record(parcel_id, "{status}")
                return {{"id": parcel_id, "event": "{status}"}}
            '''))
    return head + "\n" + "\n".join(handlers)


_TEST = textwrap.dedent('''\
    from parcel.store import ParcelStore


    def test_add_then_get():
        store = ParcelStore()
        parcel = store.add("LYS", "CDG", 2.5)
        assert store.get(parcel.parcel_id).destination == "CDG"
    ''')


def make_sample_repo(root: Path) -> Path:
    """Write the project under ``root`` (created) as a git work tree with one commit."""
    files = {
        "README.md": _README,
        "pyproject.toml": _PYPROJECT,
        "parcel/__init__.py": _INIT,
        "parcel/models.py": _models(),
        "parcel/store.py": _store(),
        "parcel/routing.py": _routing(),
        "parcel/cli.py": _CLI,
        "parcel/config.py": _CONFIG,
        "parcel/api.py": _api(),
        "tests/test_store.py": _TEST,
        ".gitignore": "*.sqlite3\n__pycache__/\n",
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    commit_all(root, "parcel 2.3.0", timeout_s=60)
    return root
