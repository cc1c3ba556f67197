"""Remote wipe from the bindings, against a real server: a sync of a device
revoked as lost erases its replica and says so in the report (with the edits
lost); a plainly revoked device is refused and keeps its data."""

import asyncio
import json
import urllib.request

import pytest

from test_identity import add_user


def revoke(server, admin_token, device_id, body):
    request = urllib.request.Request(
        f"{server.url}/v1/admin/devices/{device_id}/revoke",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {admin_token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200


def test_a_device_revoked_as_lost_is_wiped_and_a_plainly_revoked_one_keeps_its_data(ffi, server, token, tmp_path):
    phones = {}
    for name in ("lost", "kept"):
        device_token = add_user(server, token, name, "office", f"{name}-phone")
        path = tmp_path / name / "replica.db"
        replica = asyncio.run(ffi.open_with_token(str(path), server.url, device_token))
        replica.create_account(ffi.NewAccount(name="Acme Oy"))
        asyncio.run(replica.sync(server.url, device_token, None))
        replica.create_account(ffi.NewAccount(name="Globex"))  # never sent
        owner = asyncio.run(ffi.whoami(server.url, device_token))
        phones[name] = (device_token, path, owner.device_id, replica)

    lost_token, lost_path, lost_id, lost = phones["lost"]
    kept_token, kept_path, kept_id, kept = phones["kept"]
    revoke(server, token, lost_id, {"wipe": True})
    revoke(server, token, kept_id, {})

    report = asyncio.run(lost.sync(server.url, lost_token, None))
    assert report.wiped is not None
    assert (report.wiped.lost_documents, report.wiped.lost_changes, report.wiped.reported) == (1, 1, True)
    assert list(lost_path.parent.iterdir()) == [], "no replica file is left"
    with pytest.raises(ffi.RapportError.Storage):
        lost.list(ffi.AccountFilter())

    with pytest.raises(ffi.RapportError.Unauthorized):
        asyncio.run(kept.sync(server.url, kept_token, None))
    names = sorted(a.name for a in kept.list(ffi.AccountFilter()))
    assert names == ["Acme Oy", "Acme Oy", "Globex"], "a plain revoke keeps the data (and the unsent account)"
    assert kept.unsynced_count() == 1
    assert kept_path.exists()
