"""Invalid input from Python: each mistake raises the right RapportError variant."""

import asyncio
import threading

import pytest
import rapport_ffi

from conftest import ADMIN_TOKEN, dead_url

UNKNOWN = "0190f5a4-0000-7000-8000-000000000000"


@pytest.fixture
def replica(ffi, tmp_path):
    return ffi.Replica.open(str(tmp_path / "r.db"), "ana", "ana-phone")


@pytest.fixture
def acme(ffi, replica):
    return replica.create_account(ffi.NewAccount(name="Acme Oy"))


def test_unknown_ids_are_not_found(ffi, replica, acme):
    with pytest.raises(ffi.RapportError.NotFound):
        replica.account(UNKNOWN)
    with pytest.raises(ffi.RapportError.NotFound):
        replica.set_field(UNKNOWN, "party.name", "x")
    with pytest.raises(ffi.RapportError.NotFound):
        replica.complete_task(acme, UNKNOWN)
    with pytest.raises(ffi.RapportError.NotFound):
        replica.move_deal_stage(acme, UNKNOWN, "qualified", None)


def test_bad_values_are_invalid_input(ffi, replica, acme):
    cases = [
        lambda: replica.account("not-an-id"),
        lambda: replica.set_field(acme, "party.no_such_field", "x"),
        lambda: replica.set_field(acme, "party.name", "   "),
        lambda: replica.set_field(acme, "party.value_tier", "platinum"),
        lambda: replica.add_deal(acme, ffi.NewDeal(title="X", amount=ffi.Money(minor=-1, currency="EUR"))),
        lambda: replica.add_deal(acme, ffi.NewDeal(title="X", amount=ffi.Money(minor=1, currency="euro"))),
        lambda: replica.add_task(acme, ffi.NewTask(title="Call", due="next tuesday")),
        lambda: replica.add_tag(acme, ""),
        lambda: replica.create_account(ffi.NewAccount(name="")),
        lambda: replica.add_contact(acme, ffi.NewContact(name="Maija", emails=["not an email"])),
    ]
    for case in cases:
        with pytest.raises(ffi.RapportError.InvalidInput) as raised:
            case()
        assert str(raised.value), "every error carries a message"
    # A refused edit changes nothing.
    assert replica.account(acme).party.name == "Acme Oy"
    assert len(replica.history(acme)) == 1


def test_a_second_handle_shares_the_file_and_a_foreign_file_is_a_storage_error(ffi, replica, tmp_path):
    # Several handles (a sync worker and the UI, say) share one replica file.
    second = ffi.Replica.open(str(tmp_path / "r.db"), "ana", "ana-phone")
    made = replica.create_account(ffi.NewAccount(name="Ромашка"))
    assert second.account(made).party.name == "Ромашка"
    foreign = tmp_path / "notes.txt"
    foreign.write_bytes(b"not a replica, just some text " * 100)
    with pytest.raises(ffi.RapportError.Storage):
        ffi.Replica.open(str(foreign), "ana", "ana-phone")


def test_sync_errors_are_typed(ffi, server, token, replica):
    with pytest.raises(ffi.RapportError.InvalidInput):
        asyncio.run(replica.sync("not a url", token, None))
    with pytest.raises(ffi.RapportError.InvalidInput):
        asyncio.run(replica.sync("ftp://127.0.0.1:1", token, None))
    with pytest.raises(ffi.RapportError.Unauthorized):
        asyncio.run(replica.sync(server.url, "wrong-token-wrong-token-wrong", None))
    with pytest.raises(ffi.RapportError.Unauthorized):
        asyncio.run(replica.sync(server.url, "", None))
    with pytest.raises(ffi.RapportError.Network):
        asyncio.run(replica.sync(dead_url(), token, None))
    # The right token still works afterwards.
    assert asyncio.run(replica.sync(server.url, token, None)).rounds >= 1


class Throwing(rapport_ffi.SyncListener):
    def __init__(self):
        self.calls = []

    def on_progress(self, progress):
        self.calls.append("progress")
        raise RuntimeError("listener bug")

    def on_complete(self, report):
        self.calls.append("complete")
        raise ValueError("listener bug")

    def on_error(self, message):
        self.calls.append("error")
        raise KeyError("listener bug")


def test_a_throwing_listener_does_not_break_sync(ffi, server, token, replica, acme):
    listener = Throwing()
    report = asyncio.run(replica.sync(server.url, token, listener))
    assert report.pushed_docs == 1
    assert listener.calls[0] == "progress" and listener.calls[-1] == "complete"
    assert replica.unsynced_count() == 0

    failing = Throwing()
    with pytest.raises(ffi.RapportError.Network):
        asyncio.run(replica.sync(dead_url(), token, failing))
    assert failing.calls == ["error"]
    # The library is still fine.
    replica.set_field(acme, "party.industry", "logistics")
    assert replica.account(acme).party.industry == "logistics"


def test_listener_calling_back_into_the_replica_gets_an_error_not_a_deadlock(ffi, server, token, replica, acme):
    seen = []

    class Reentrant(ffi.SyncListener):
        def on_progress(self, progress):
            try:
                replica.account(acme)
                seen.append("read")
            except ffi.RapportError.Storage:
                seen.append("busy")

        def on_complete(self, report):
            seen.append(replica.account(acme).party.name)

        def on_error(self, message):
            seen.append("error")

    done = threading.Event()
    result = {}

    def run():
        result["report"] = asyncio.run(replica.sync(server.url, token, Reentrant()))
        done.set()

    threading.Thread(target=run, daemon=True).start()
    assert done.wait(60), "sync deadlocked"
    assert seen[0] == "busy" and seen[-1] == "Acme Oy"


def test_replica_is_usable_from_many_threads(ffi, replica):
    errors = []

    def work(n):
        try:
            for i in range(10):
                replica.create_account(ffi.NewAccount(name=f"T{n}-{i}"))
        except Exception as e:  # noqa: BLE001 - the test reports any failure
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(replica.list(ffi.AccountFilter())) == 40


def add_rep(server, name):
    """A rep user through the admin API (admins are not rate limited); returns its device token."""
    import json
    import urllib.request

    request = urllib.request.Request(
        f"{server.url}/v1/admin/users",
        data=json.dumps({"name": name, "role": "rep", "teams": [], "territories": []}).encode(),
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())["token"]


def test_a_rate_limit_the_retries_cannot_wait_out_is_rate_limited(ffi, tmp_path, token, replica):
    from conftest import Server

    # One request per 100 s after a burst of 3: the server's Retry-After is
    # longer than the client's cap, so the sync reports it instead of waiting.
    server = Server(tmp_path / "limited", ["--rate", "0.01", "--burst", "3"])
    server.start()
    try:
        asyncio.run(replica.sync(server.url, token, None))
        rep = ffi.Replica.open(str(tmp_path / "rep.db"), "rita", "rita-phone")
        rep_token = add_rep(server, "rita")
        with pytest.raises(ffi.RapportError.RateLimited) as raised:
            for _ in range(5):
                asyncio.run(rep.sync(server.url, rep_token, None))
        error = raised.value
        assert "too many requests" in str(error) and "try again in" in str(error)
        assert str(error) == error.message, "str(e) is the plain message"
        # The server asked for about 100 s, more than the client waits by itself.
        assert error.retry_after_ms is not None and error.retry_after_ms > 30_000
    finally:
        server.stop()


class Scripted:
    """A local HTTP server answering every request with one status and JSON error."""

    def __init__(self, status, code, retry_after=None):
        import http.server

        outer = self
        self.requests = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                outer.requests += 1
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                body = ('{"error":{"code":"%s","message":"scripted"}}' % code).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                if retry_after is not None:
                    self.send_header("Retry-After", retry_after)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_an_unavailable_server_is_server_unavailable_after_the_retries(ffi, token, replica, acme):
    scripted = Scripted(503, "server_unavailable", "0")
    try:
        with pytest.raises(ffi.RapportError.ServerUnavailable) as raised:
            asyncio.run(replica.sync(scripted.url, token, None))
        assert "temporarily unavailable" in str(raised.value)
        assert raised.value.retry_after_ms == 0, "Retry-After: 0"
        assert scripted.requests == 4, "the first attempt and three retries"
    finally:
        scripted.close()
    assert replica.unsynced_count() >= 1
    assert replica.rejected_documents() == []


def test_a_full_server_disk_is_server_storage_full_and_counts_the_unsent_changes(ffi, token, replica, acme):
    scripted = Scripted(507, "server_storage_full", "60")
    unsent = replica.unsynced_count()
    try:
        with pytest.raises(ffi.RapportError.ServerStorageFull) as raised:
            asyncio.run(replica.sync(scripted.url, token, None))
    finally:
        scripted.close()
    error = raised.value
    assert f"out of disk space; your {unsent} unsent change(s) are safe on this device" in str(error)
    assert error.unsent == unsent >= 1
    assert error.retry_after_ms == 60_000
    assert replica.unsynced_count() == unsent
