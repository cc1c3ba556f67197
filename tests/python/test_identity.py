"""The replica's identity comes from the token: `whoami` and `open_with_token`
against a real server."""

import asyncio
import json
import urllib.request

import pytest

from conftest import dead_url


def add_user(server, admin_token, name, role, device):
    """Creates a user with a named first device through the admin API; returns its token."""
    request = urllib.request.Request(
        f"{server.url}/v1/admin/users",
        data=json.dumps({"name": name, "role": role, "device": device}).encode(),
        headers={"Authorization": f"Bearer {admin_token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["token"]


def test_whoami_names_the_tokens_user_and_device(ffi, server, token):
    ray = add_user(server, token, "ray", "rep", "ray-phone")
    owner = asyncio.run(ffi.whoami(server.url, ray))
    assert (owner.user, owner.role, owner.device) == ("ray", "rep", "ray-phone")
    assert owner.device_id > 0
    admin = asyncio.run(ffi.whoami(server.url, token))
    assert (admin.user, admin.role) == ("admin", "admin")


def test_open_with_token_writes_as_the_tokens_user(ffi, server, token, tmp_path):
    ray = add_user(server, token, "ray", "rep", "ray-phone")
    replica = asyncio.run(ffi.open_with_token(str(tmp_path / "r.db"), server.url, ray))
    acme = replica.create_account(ffi.NewAccount(name="Acme Oy"))
    change = replica.history(acme)[0]
    assert (change.user, change.device) == ("ray", "ray-phone")
    assert replica.account(acme).party.owner == "ray"
    report = asyncio.run(replica.sync(server.url, ray, None))
    assert report.pushed_docs == 1


def test_whoami_errors_are_typed(ffi, server, tmp_path):
    with pytest.raises(ffi.RapportError.Unauthorized):
        asyncio.run(ffi.whoami(server.url, "not-a-token-of-this-server"))
    with pytest.raises(ffi.RapportError.Network):
        asyncio.run(ffi.whoami(dead_url(), "some-device-token-0123"))
    with pytest.raises(ffi.RapportError.InvalidInput):
        asyncio.run(ffi.whoami("localhost:8080", "some-device-token-0123"))
    with pytest.raises(ffi.RapportError.Unauthorized):
        asyncio.run(ffi.open_with_token(str(tmp_path / "r.db"), server.url, "not-a-token-of-this-server"))
    assert not (tmp_path / "r.db").exists(), "no replica is created for a refused token"
