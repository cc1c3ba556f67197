"""The README's office automation example runs, imports, updates and syncs."""

import asyncio
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).with_name("example_office_import.py")


def test_example_imports_updates_and_syncs(ffi, server, token, tmp_path):
    csv_file = tmp_path / "accounts.csv"
    csv_file.write_text(
        "name,owner,territory,city,tags\n"
        "Acme Oy,ana,south,Tampere,fleet;key\n"
        "Beta Ab,,,Turku,\n"
        "Gamma Ky,pekka,east,,\n",
        encoding="utf-8",
    )
    office_db = tmp_path / "office.db"
    run = subprocess.run(
        [sys.executable, str(EXAMPLE), str(csv_file), "--replica", str(office_db),
         "--set", "party.territory=north", "--server", server.url, "--token", token],
        capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "imported 3 accounts" in run.stdout
    assert "synced: pushed 3" in run.stdout

    # Another device sees the import with the bulk update applied.
    phone = ffi.Replica.open(str(tmp_path / "phone.db"), "ana", "ana-phone")
    asyncio.run(phone.sync(server.url, token, None))
    accounts = phone.list(ffi.AccountFilter(territory="north"))
    assert [a.name for a in accounts] == ["Acme Oy", "Beta Ab", "Gamma Ky"]
    acme = phone.account(accounts[0].id)
    assert acme.party.tags == ["fleet", "key"] and acme.party.address.city == "Tampere"
    assert acme.party.source == "csv-import"


def test_example_refuses_a_bad_csv_whole(tmp_path):
    csv_file = tmp_path / "bad.csv"
    csv_file.write_text("name\nGood Oy\n\n\"  \"\n", encoding="utf-8")
    run = subprocess.run(
        [sys.executable, str(EXAMPLE), str(csv_file), "--replica", str(tmp_path / "o.db")],
        capture_output=True, text=True, timeout=60,
    )
    assert run.returncode == 2, run.stdout + run.stderr
    assert "nothing imported" in run.stderr
