"""Live updates from Python (`Replica.watch`) against a real server process:
another device's edit reaches the watching app, the watch survives a server
restart on the same port, and a stopped watch makes no more callbacks."""

import asyncio
import json
import queue
import threading
import time
import urllib.request

import pytest
import rapport_ffi

from conftest import ADMIN_TOKEN

# Generous: an edit normally arrives well within a second; this is not a benchmark.
ARRIVAL = 15
# A restarted server is found again within the client's backoff (1 s, 2 s, 4 s… with jitter).
AFTER_RESTART = 60


class Recorder(rapport_ffi.LiveListener):
    """Collects what the watch reports, from the watch's own thread."""

    def __init__(self):
        self.updates: "queue.Queue" = queue.Queue()
        self.statuses: "queue.Queue" = queue.Queue()

    def on_update(self, update):
        self.updates.put(update)

    def on_status(self, status):
        self.statuses.put(status)

    def wait_for(self, account, timeout):
        """The first update naming `account`, within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                update = self.updates.get(timeout=left)
            except queue.Empty:
                break
            if account in update.accounts:
                return update
        pytest.fail(f"no update for {account} within {timeout} s")

    def wait_status(self, kind, timeout):
        deadline = time.monotonic() + timeout
        seen = []
        while (left := deadline - time.monotonic()) > 0:
            try:
                status = self.statuses.get(timeout=left)
            except queue.Empty:
                break
            seen.append(status)
            if isinstance(status, kind):
                return status
        pytest.fail(f"no {kind.__name__} within {timeout} s; saw {seen}")


def add_user(server, name, role):
    request = urllib.request.Request(
        f"{server.url}/v1/admin/users",
        data=json.dumps({"name": name, "role": role, "territories": ["north"]}).encode(),
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["token"]


def sync(replica, url, token):
    return asyncio.run(replica.sync(url, token, None))


@pytest.fixture
def devices(ffi, server, tmp_path):
    """An office desktop (admin token) and a phone (its own user and token), both synced with one account."""
    phone_token = add_user(server, "ana", "office")
    office = ffi.Replica.open(str(tmp_path / "office.db"), "admin", "office-desktop")
    phone = ffi.Replica.open(str(tmp_path / "phone.db"), "ana", "ana-phone")
    acme = office.create_account(ffi.NewAccount(name="Acme Oy", owner="ana", territory="north"))
    sync(office, server.url, ADMIN_TOKEN)
    return office, phone, phone_token, acme


def test_another_devices_edit_reaches_the_watching_app(ffi, server, devices):
    office, phone, phone_token, acme = devices
    recorder = Recorder()
    watch = phone.watch(server.url, phone_token, recorder)
    try:
        assert isinstance(recorder.statuses.get(timeout=ARRIVAL), ffi.LiveStatus.CONNECTED)
        first = recorder.wait_for(acme, ARRIVAL)
        assert first.after_connect, "the catch-up sync brings the account"
        recorder.wait_status(ffi.LiveStatus.IN_SYNC, ARRIVAL)

        office.set_notes(acme, "Call back on Tuesday.")
        sync(office, server.url, ADMIN_TOKEN)
        update = recorder.wait_for(acme, ARRIVAL)
        assert not update.after_connect and not update.settings_changed
        assert phone.account(acme).party.notes == "Call back on Tuesday.", "applied before the listener was told"

        # The phone's own edit goes out on the same connection.
        phone.set_field(acme, "party.industry", "forestry")
        watch.push_now()
        deadline = time.monotonic() + ARRIVAL
        while phone.unsynced_count() > 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert phone.unsynced_count() == 0
        sync(office, server.url, ADMIN_TOKEN)
        assert office.account(acme).party.industry == "forestry"
        assert watch.is_running()
    finally:
        watch.stop()
    assert not watch.is_running()


def test_the_watch_survives_a_server_restart(ffi, server, devices):
    office, phone, phone_token, acme = devices
    recorder = Recorder()
    watch = phone.watch(server.url, phone_token, recorder)
    try:
        recorder.wait_for(acme, ARRIVAL)
        recorder.wait_status(ffi.LiveStatus.IN_SYNC, ARRIVAL)

        address = server.url.removeprefix("http://")
        server.stop()
        reconnecting = recorder.wait_status(ffi.LiveStatus.RECONNECTING, AFTER_RESTART)
        assert "the server" in reconnecting.message or "reach" in reconnecting.message, reconnecting.message
        assert reconnecting.retry_in_ms > 0
        # While the watch waits for the server, the replica is free for the app.
        edited = threading.Thread(target=lambda: phone.set_field(acme, "party.industry", "forestry"))
        edited.start()
        edited.join(ARRIVAL)
        assert not edited.is_alive(), "an edit waited for the watch"

        server.start(address)
        recorder.wait_status(ffi.LiveStatus.IN_SYNC, AFTER_RESTART)
        assert phone.unsynced_count() == 0, "the edit made while disconnected was sent on reconnecting"
        sync(office, server.url, ADMIN_TOKEN)
        assert office.account(acme).party.industry == "forestry"

        office.set_notes(acme, "Edited after the restart.")
        sync(office, server.url, ADMIN_TOKEN)
        recorder.wait_for(acme, ARRIVAL)
        assert phone.account(acme).party.notes == "Edited after the restart."
    finally:
        watch.stop()


def test_a_stopped_watch_makes_no_more_callbacks(ffi, server, devices):
    office, phone, phone_token, acme = devices
    recorder = Recorder()
    watch = phone.watch(server.url, phone_token, recorder)
    recorder.wait_for(acme, ARRIVAL)
    recorder.wait_status(ffi.LiveStatus.IN_SYNC, ARRIVAL)
    watch.stop()
    watch.stop()  # twice is harmless
    assert not watch.is_running()
    # Whatever was reported before stop() returned is dropped; nothing may follow.
    for q in (recorder.updates, recorder.statuses):
        while not q.empty():
            q.get_nowait()

    office.set_notes(acme, "Nobody is watching.")
    sync(office, server.url, ADMIN_TOKEN)
    time.sleep(3)
    assert recorder.updates.empty() and recorder.statuses.empty()
    assert phone.account(acme).party.notes != "Nobody is watching.", "nothing was applied after stop"
    # The replica is free again: an ordinary sync brings the edit.
    sync(phone, server.url, phone_token)
    assert phone.account(acme).party.notes == "Nobody is watching."


def test_watch_errors_are_typed(ffi, server, tmp_path):
    replica = ffi.Replica.open(str(tmp_path / "r.db"), "ana", "ana-phone")
    with pytest.raises(ffi.RapportError.InvalidInput):
        replica.watch("not a url", ADMIN_TOKEN, Recorder())

    # A token the server refuses is not retried: the watch reports it and ends.
    recorder = Recorder()
    watch = replica.watch(server.url, "not-a-token-of-this-server", recorder)
    failed = recorder.wait_status(ffi.LiveStatus.FAILED, ARRIVAL)
    assert isinstance(failed.error, ffi.RapportError.Unauthorized)
    assert "token" in str(failed.error)
    deadline = time.monotonic() + ARRIVAL
    while watch.is_running() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not watch.is_running()
