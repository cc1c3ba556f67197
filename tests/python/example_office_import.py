#!/usr/bin/env python3
"""Office automation with Rapport's Python bindings: import accounts from a
CSV file, bulk-update a field, and sync with the server.

    python3 tests/python/example_office_import.py accounts.csv \
        --replica office.db --server http://127.0.0.1:8080 --token "$RAPPORT_TOKEN" \
        --set party.territory=north

The CSV needs a `name` column; `owner`, `territory`, `city`, `industry` and
`tags` (separated by `;`) are optional. Needs the generated bindings
(`scripts/bindings.sh`) on PYTHONPATH, or run it from the repository.
"""

import argparse
import asyncio
import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "target" / "bindings" / "python"))

import rapport_ffi as rapport  # noqa: E402


class Progress(rapport.SyncListener):
    def on_progress(self, progress):
        print(f"  exchange {progress.round}: {progress.unsynced_now} documents left to push")

    def on_complete(self, report):
        print(f"  synced: pushed {report.pushed_docs}, pulled {report.pulled_docs} documents")

    def on_error(self, message):
        print(f"  sync failed: {message}", file=sys.stderr)


def read_accounts(path):
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            yield rapport.NewAccount(
                name=row["name"],
                owner=row.get("owner") or None,
                territory=row.get("territory") or None,
                industry=row.get("industry") or None,
                address=rapport.Address(city=row.get("city") or None),
                tags=[t.strip() for t in (row.get("tags") or "").split(";") if t.strip()],
                source="csv-import",
            )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv")
    parser.add_argument("--replica", required=True, help="the office replica file")
    parser.add_argument("--user", default="office")
    parser.add_argument("--device", default="office-import")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="set on every import")
    parser.add_argument("--server")
    parser.add_argument("--token")
    args = parser.parse_args(argv)

    replica = rapport.Replica.open(args.replica, args.user, args.device)
    try:
        ids = replica.create_accounts(list(read_accounts(args.csv)))
    except rapport.RapportError.InvalidInput as e:
        print(f"nothing imported: {e}", file=sys.stderr)
        return 2
    print(f"imported {len(ids)} accounts")

    for assignment in args.set:
        field, _, value = assignment.partition("=")
        for account_id in ids:
            replica.set_field(account_id, field, value)
        print(f"set {field} = {value!r} on {len(ids)} accounts")

    if args.server:
        try:
            asyncio.run(replica.sync(args.server, args.token or "", Progress()))
        except rapport.RapportError.Network as e:
            print(f"offline, the import will sync later: {e}", file=sys.stderr)
            return 1
        except rapport.RapportError.Unauthorized as e:
            print(f"the server refused the token: {e}", file=sys.stderr)
            return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
