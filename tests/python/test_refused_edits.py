"""Refused edits from Python (ADR 0010): an edit the server refuses is kept
aside and listed with its reason, the rep's other edits are still sent, and
the refused one can be discarded."""

import asyncio
import json
import urllib.request

import pytest

from conftest import ADMIN_TOKEN


def admin(server, method, path, body):
    request = urllib.request.Request(
        f"{server.url}/v1/admin{path}",
        data=json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        return json.load(response)


def sync(replica, url, token):
    return asyncio.run(replica.sync(url, token, None))


def test_a_refused_edit_is_listed_and_discarded_while_the_others_arrive(ffi, server, tmp_path):
    ana_token = admin(server, "POST", "/users", {"name": "ana", "role": "office", "territories": ["north"]})["token"]
    office = ffi.Replica.open(str(tmp_path / "office.db"), "olli", "office-desktop")
    rep = ffi.Replica.open(str(tmp_path / "rep.db"), "ana", "ana-phone")
    acme = office.create_account(ffi.NewAccount(name="Acme Oy", owner="ana", territory="north"))
    sync(office, server.url, ADMIN_TOKEN)
    sync(rep, server.url, ana_token)

    # Ana becomes a rep while her phone is offline: it does not refuse her owner change.
    admin(server, "PATCH", "/users/ana", {"role": "rep"})
    rep.set_field(acme, "party.owner", "bob")
    rep.set_notes(acme, "Wants delivery in May.")
    # The refusal does not fail the sync: its report says what was set aside.
    report = sync(rep, server.url, ana_token)
    assert report.refused_edits == 1
    assert [r.document for r in report.refused] == [acme]
    assert report.refused[0].reason.endswith("role rep may not change party.owner")
    assert report.pushed_docs == 1, "the notes were sent"
    assert rep.unsynced_count() == 0, "the other edits were sent"

    refused = rep.refused_edits()
    assert len(refused) == 1
    assert refused[0].account_id == acme
    assert refused[0].fields == ["party.owner"]
    assert refused[0].reason == "role rep may not change party.owner"
    assert rep.account(acme).party.owner == "ana"

    sync(office, server.url, ADMIN_TOKEN)
    shown = office.account(acme)
    assert shown.party.notes == "Wants delivery in May."
    assert shown.party.owner == "ana"

    # Now that the phone knows her role, the same edit is refused at once; retrying too.
    with pytest.raises(ffi.RapportError.NotPermitted):
        rep.set_field(acme, "party.owner", "bob")
    with pytest.raises(ffi.RapportError.NotPermitted):
        rep.retry_refused(refused[0].id)

    rep.discard_refused(refused[0].id)
    assert rep.refused_edits() == []
    with pytest.raises(ffi.RapportError.NotFound):
        rep.discard_refused(refused[0].id)
    again = sync(rep, server.url, ana_token)
    assert again.refused_edits == 0 and again.refused == []
    assert rep.account(acme).party.owner == "ana"


def test_a_refused_edit_retried_once_the_role_allows_it_reaches_the_others(ffi, server, tmp_path):
    ana_token = admin(server, "POST", "/users", {"name": "ana", "role": "office", "territories": ["north"]})["token"]
    office = ffi.Replica.open(str(tmp_path / "office.db"), "olli", "office-desktop")
    rep = ffi.Replica.open(str(tmp_path / "rep.db"), "ana", "ana-phone")
    acme = office.create_account(ffi.NewAccount(name="Acme Oy", owner="ana", territory="north"))
    sync(office, server.url, ADMIN_TOKEN)
    sync(rep, server.url, ana_token)

    admin(server, "PATCH", "/users/ana", {"role": "rep"})
    rep.set_field(acme, "party.owner", "bob")
    assert sync(rep, server.url, ana_token).refused_edits == 1
    [refused] = rep.refused_edits()

    # She is office staff again; the phone learns it at its next sync, and the retry goes through.
    admin(server, "PATCH", "/users/ana", {"role": "office"})
    sync(rep, server.url, ana_token)
    rep.retry_refused(refused.id)
    assert rep.refused_edits() == []
    report = sync(rep, server.url, ana_token)
    assert (report.refused_edits, report.pushed_docs) == (0, 1)
    sync(office, server.url, ADMIN_TOKEN)
    assert office.account(acme).party.owner == "bob"


def test_a_refused_settings_change_is_kept_then_discarded_or_sent_again(ffi, server, tmp_path):
    ana_token = admin(server, "POST", "/users", {"name": "ana", "role": "office", "territories": ["north"]})["token"]
    office = ffi.Replica.open(str(tmp_path / "office.db"), "olli", "office-desktop")
    phone = ffi.Replica.open(str(tmp_path / "phone.db"), "ana", "ana-phone")
    sync(office, server.url, ADMIN_TOKEN)
    sync(phone, server.url, ana_token)
    assert phone.refused_settings() is None
    with pytest.raises(ffi.RapportError.NotFound):
        phone.discard_refused_settings()

    # Ana adds a lost reason offline while she is made a rep: the server refuses it.
    phone.add_reason(ffi.ReasonCatalogue.LOST_REASONS, "Too far")
    admin(server, "PATCH", "/users/ana", {"role": "rep"})
    report = sync(phone, server.url, ana_token)
    assert [r.document for r in report.refused] == ["settings"]
    assert phone.refused_settings() == "document settings: role rep may not change the settings"
    assert "Too far" in phone.settings().lost_reasons, "kept on the phone, unsent"
    with pytest.raises(ffi.RapportError.NotPermitted):
        phone.retry_refused_settings()

    # Discarded: the phone's settings are the server's again.
    phone.discard_refused_settings()
    assert phone.refused_settings() is None
    assert phone.settings() == office.settings()
    assert phone.unsynced_count() == 0

    # Refused again; once she is office staff again, it is sent and reaches the office.
    admin(server, "PATCH", "/users/ana", {"role": "office"})
    sync(phone, server.url, ana_token)
    phone.add_reason(ffi.ReasonCatalogue.END_REASONS, "Closed down")
    admin(server, "PATCH", "/users/ana", {"role": "rep"})
    sync(phone, server.url, ana_token)
    assert phone.refused_settings() is not None
    admin(server, "PATCH", "/users/ana", {"role": "office"})
    sync(phone, server.url, ana_token)
    phone.retry_refused_settings()
    report = sync(phone, server.url, ana_token)
    assert report.refused == []
    sync(office, server.url, ADMIN_TOKEN)
    assert "Closed down" in office.settings().end_reasons
