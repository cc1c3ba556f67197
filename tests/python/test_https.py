"""Sync over HTTPS against a real server serving TLS itself (`--tls-cert`/`--tls-key`)
with a certificate of a test CA made for each test (target/debug/examples/test_ca,
rcgen), trusted through `ca_cert_pem`; untrusted certificates are refused with a
typed error that says what to do."""

import asyncio
import json
import ssl
import subprocess
import urllib.request

import pytest

from conftest import ADMIN_TOKEN, ROOT, Server

TEST_CA = ROOT / "target" / "debug" / "examples" / "test_ca"


@pytest.fixture
def ca(tmp_path):
    """A fresh test CA: {ca, cert, key} paths (server certificate for 127.0.0.1 only)."""
    if not TEST_CA.exists():
        raise RuntimeError(f"{TEST_CA} is missing: run cargo build -p rapport-e2e --example test_ca")
    out = tmp_path / "ca"
    subprocess.run([str(TEST_CA), str(out)], check=True, capture_output=True)
    return {"ca": out / "ca.pem", "cert": out / "server.pem", "key": out / "server.key"}


@pytest.fixture
def https_server(tmp_path, ca):
    s = Server(tmp_path / "server-data", ["--tls-cert", str(ca["cert"]), "--tls-key", str(ca["key"])])
    s.start()
    yield s
    s.stop()


def add_user(server, ca, name):
    """Creates an admin user with a first device through the admin API, over HTTPS; returns its token."""
    context = ssl.create_default_context(cafile=str(ca["ca"]))
    request = urllib.request.Request(
        f"{server.url}/v1/admin/users",
        data=json.dumps({"name": name, "role": "admin", "device": f"{name}-phone"}).encode(),
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30, context=context) as response:
        return json.load(response)["token"]


def test_two_devices_sync_over_https_with_the_company_ca(ffi, https_server, ca, tmp_path):
    assert https_server.url.startswith("https://127.0.0.1:")
    pem = ca["ca"].read_text()
    url = https_server.url
    ana, bob = add_user(https_server, ca, "ana"), add_user(https_server, ca, "bob")

    ana_replica = asyncio.run(ffi.open_with_token(str(tmp_path / "ana.db"), url, ana, ca_cert_pem=pem))
    acme = ana_replica.create_account(ffi.NewAccount(name="Acme Oy"))
    report = asyncio.run(ana_replica.sync(url, ana, None, ca_cert_pem=pem))
    assert report.pushed_docs == 1

    owner = asyncio.run(ffi.whoami(url, bob, ca_cert_pem=pem))
    bob_replica = ffi.Replica.open(str(tmp_path / "bob.db"), owner.user, owner.device)
    report = asyncio.run(bob_replica.sync(url, bob, None, ca_cert_pem=pem))
    assert acme in report.pulled_ids
    assert bob_replica.account(acme).party.name == "Acme Oy"


def test_an_untrusted_certificate_is_refused_with_what_to_do(ffi, https_server, ca, tmp_path):
    url = https_server.url
    pem = ca["ca"].read_text()
    replica = ffi.Replica.open(str(tmp_path / "r.db"), "admin", "phone")
    replica.create_account(ffi.NewAccount(name="Acme Oy"))

    # No CA: the platform's trust store does not know the test CA.
    with pytest.raises(ffi.RapportError.UntrustedCertificate) as refused:
        asyncio.run(replica.sync(url, ADMIN_TOKEN, None))
    message = str(refused.value)
    assert "the server's certificate is not trusted" in message
    assert "not issued by a certificate authority this device trusts" in message
    assert "ask for its CA certificate" in message
    with pytest.raises(ffi.RapportError.UntrustedCertificate):
        asyncio.run(ffi.whoami(url, ADMIN_TOKEN))

    # The right CA, but a host name the certificate was not issued for.
    with pytest.raises(ffi.RapportError.UntrustedCertificate) as refused:
        asyncio.run(replica.sync(url.replace("127.0.0.1", "localhost"), ADMIN_TOKEN, None, ca_cert_pem=pem))
    assert "another host name" in str(refused.value)

    # Something that is not a CA certificate.
    with pytest.raises(ffi.RapportError.InvalidInput) as refused:
        asyncio.run(replica.sync(url, ADMIN_TOKEN, None, ca_cert_pem=ca["key"].read_text()))
    assert "the CA certificate cannot be used" in str(refused.value)

    # Nothing was sent: the edit is still waiting, and goes with the right CA.
    report = asyncio.run(replica.sync(url, ADMIN_TOKEN, None, ca_cert_pem=pem))
    assert report.pushed_docs == 1
