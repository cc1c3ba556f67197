"""Encryption at rest from Python: an encrypted replica round trips with its key,
a wrong or missing key raises RapportError.WrongKey, and a plain replica is
encrypted in place; no customer name is left in clear in the files."""

import os

import pytest

NAME = "Quackenbush Zebulon Haberdashery"


def leaks(directory):
    """Files in `directory` whose bytes hold the customer's name."""
    return [p.name for p in directory.iterdir() if p.is_file() and NAME.encode() in p.read_bytes()]


def test_encrypted_replica_round_trip(ffi, tmp_path):
    key = os.urandom(ffi.replica_key_length())
    path = str(tmp_path / "r.db")
    replica = ffi.Replica.open_encrypted(path, "ana", "ana-phone", key)
    acme = replica.create_account(ffi.NewAccount(name=NAME))
    replica.set_notes(acme, "gate code 4711")
    assert (tmp_path / "r.db-wal").stat().st_size > 0, "the log holds the writes"
    assert leaks(tmp_path) == [], "no name in clear while open"
    del replica

    assert leaks(tmp_path) == [], "no name in clear after closing"
    replica = ffi.Replica.open_encrypted(path, "ana", "ana-phone", key)
    account = replica.account(acme)
    assert account.party.name == NAME
    assert [s.name for s in replica.search("haberdashery", 5)] == [NAME]


def test_wrong_or_missing_key_is_wrong_key(ffi, tmp_path):
    path = str(tmp_path / "r.db")
    key = os.urandom(32)
    replica = ffi.Replica.open_encrypted(path, "ana", "ana-phone", key)
    replica.create_account(ffi.NewAccount(name=NAME))
    del replica
    before = (tmp_path / "r.db").read_bytes()

    with pytest.raises(ffi.RapportError.WrongKey) as wrong:
        ffi.Replica.open_encrypted(path, "ana", "ana-phone", os.urandom(32))
    assert "use the key it was encrypted with" in str(wrong.value)
    assert "not a database" not in str(wrong.value)
    with pytest.raises(ffi.RapportError.WrongKey) as missing:
        ffi.Replica.open(path, "ana", "ana-phone")
    assert "open it with its key" in str(missing.value)
    with pytest.raises(ffi.RapportError.InvalidInput):
        ffi.Replica.open_encrypted(path, "ana", "ana-phone", b"too short")
    assert (tmp_path / "r.db").read_bytes() == before, "failed opens changed nothing"

    assert len(ffi.Replica.open_encrypted(path, "ana", "ana-phone", key).list(ffi.AccountFilter())) == 1


def test_plain_replica_is_encrypted_in_place(ffi, tmp_path):
    path = str(tmp_path / "r.db")
    replica = ffi.Replica.open(path, "ana", "ana-phone")
    ids = [replica.create_account(ffi.NewAccount(name=f"{NAME} {i}")) for i in range(5)]
    unsynced = replica.unsynced_count()
    del replica
    assert leaks(tmp_path) != [], "the plain file holds the name"

    key = os.urandom(32)
    with pytest.raises(ffi.RapportError.WrongKey):
        ffi.Replica.open_encrypted(path, "ana", "ana-phone", key)
    assert ffi.encrypt_replica(path, key) is True
    assert leaks(tmp_path) == [], "no plaintext left behind"
    assert ffi.encrypt_replica(path, key) is False, "already encrypted with this key"
    with pytest.raises(ffi.RapportError.WrongKey):
        ffi.encrypt_replica(path, os.urandom(32))

    replica = ffi.Replica.open_encrypted(path, "ana", "ana-phone", key)
    assert sorted(replica.account(i).party.name for i in ids) == sorted(f"{NAME} {i}" for i in range(5))
    assert replica.unsynced_count() == unsynced, "unsynced edits kept"
    # Encrypting needs the file alone: a plain replica another handle holds is refused.
    held_dir = tmp_path / "held"
    held_dir.mkdir()
    held_path = str(held_dir / "r.db")
    held = ffi.Replica.open(held_path, "ana", "ana-phone")
    held.create_account(ffi.NewAccount(name=NAME))
    with pytest.raises(ffi.RapportError.Storage):
        ffi.encrypt_replica(held_path, os.urandom(32))
    assert [a.name for a in held.list(ffi.AccountFilter())] == [NAME], "the held replica is untouched"


def test_encrypted_replica_syncs_through_a_server(ffi, server, token, tmp_path):
    import asyncio

    key = os.urandom(32)
    phone = asyncio.run(ffi.open_encrypted_with_token(str(tmp_path / "phone.db"), server.url, token, key))
    acme = phone.create_account(ffi.NewAccount(name=NAME))
    asyncio.run(phone.sync(server.url, token, None))
    tablet = ffi.Replica.open_encrypted(str(tmp_path / "tablet.db"), "admin", "tablet", os.urandom(32))
    asyncio.run(tablet.sync(server.url, token, None))
    assert tablet.account(acme).party.name == NAME
    assert leaks(tmp_path) == []


def test_swift_bindings_have_the_encryption_api():
    """No Swift compiler here: the generated Swift API has the shape docs/MOBILE.md shows."""
    import re

    from conftest import ROOT

    source = (ROOT / "target" / "bindings" / "swift" / "rapport_ffi.swift").read_text()
    flat = re.sub(r"\s+", " ", source)
    for pattern in [
        r"public static func openEncrypted\(path: String, user: String, device: String, key: Data\) ?throws ?-> Replica",
        r"public func encryptReplica\(path: String, key: Data\) ?throws ?-> Bool",
        r"public func openEncryptedWithToken\(path: String, serverUrl: String, token: String, key: Data, caCertPem: String\? = nil\)\s*async throws\s*-> Replica",
        r"public func replicaKeyLength\(\) ?-> UInt32",
        r"case wrongKey\(message: String\s*\)",
    ]:
        assert re.search(pattern, flat, re.IGNORECASE), pattern
