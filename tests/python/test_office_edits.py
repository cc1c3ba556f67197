"""The edit operations the `rapport` CLI has, from Python: reopening an ended
relationship, marking a planned interaction held, closing a deal as won, and
changing the settings (not as a rep). Synced through a real server."""

import asyncio
import datetime

import pytest

from test_errors import add_rep


def sync(replica, url, token):
    return asyncio.run(replica.sync(url, token, None))


def test_reopen_hold_and_win_reach_the_other_device(ffi, server, token, tmp_path):
    office = ffi.Replica.open(str(tmp_path / "office.db"), "olli", "office-desktop")
    phone = ffi.Replica.open(str(tmp_path / "phone.db"), "olli", "olli-phone")
    acme = office.create_account(ffi.NewAccount(name="Acme Oy"))
    deal = office.add_deal(acme, ffi.NewDeal(title="Boilers", amount=ffi.Money(minor=360_000_00, currency="UAH")))

    # Ended, then reopened: active again, the ending cleared.
    reason = office.settings().end_reasons[0]
    office.end_relationship(acme, ffi.AccountStatus.LOST, reason, "2026-11-30")
    party = office.account(acme).party
    assert (party.status, party.ending.reason, party.ending.on) == (ffi.AccountStatus.LOST, reason, "2026-11-30")
    office.reopen_relationship(acme)
    party = office.account(acme).party
    assert (party.status, party.ending) == (ffi.AccountStatus.ACTIVE, None)

    # A planned visit, marked held with its outcome: it counts once.
    planned_at = datetime.datetime(2027, 1, 15, 10, 0, tzinfo=datetime.timezone.utc)
    held_at = datetime.datetime(2027, 1, 15, 10, 20, tzinfo=datetime.timezone.utc)
    visit = office.log_interaction(
        acme,
        ffi.NewInteraction(
            kind=ffi.InteractionKind.VISIT,
            subject="Site survey",
            status=ffi.InteractionStatus.PLANNED,
            planned_start=planned_at,
        ),
    )
    assert office.account(acme).visit_count == 0
    office.hold_interaction(acme, visit, ffi.HeldInteraction(at=held_at, outcome="Ordered two boilers"))
    with pytest.raises(ffi.RapportError.InvalidInput) as twice:
        office.hold_interaction(acme, visit, ffi.HeldInteraction())
    assert "already marked held" in str(twice.value)
    with pytest.raises(ffi.RapportError.NotFound):
        office.hold_interaction(acme, "0190f5a4-0000-7000-8000-000000000000", ffi.HeldInteraction())
    with pytest.raises(ffi.RapportError.InvalidInput):
        office.hold_interaction(acme, "not-an-id", ffi.HeldInteraction())

    # Won: the deal moves to the pipeline's won stage.
    office.mark_deal_won(acme, deal)
    won = next(s.id for s in office.settings().stages if s.kind == ffi.StageKind.WON)

    sync(office, server.url, token)
    sync(phone, server.url, token)
    seen = phone.account(acme)
    assert seen == office.account(acme)
    assert (seen.party.status, seen.party.ending) == (ffi.AccountStatus.ACTIVE, None)
    held = next(i for i in seen.interactions if i.id == visit)
    assert (held.status, held.planned_start, held.actual_start, held.outcome) == (
        ffi.InteractionStatus.HELD,
        planned_at,
        held_at,
        "Ordered two boilers",
    )
    assert seen.visit_count == 1
    assert (seen.deals[0].stage, seen.deals[0].outcome) == (won, ffi.DealOutcome.WON)


def test_settings_are_changed_by_the_office_and_refused_to_a_rep(ffi, server, token, tmp_path):
    office = ffi.Replica.open(str(tmp_path / "office.db"), "olli", "office-desktop")
    sync(office, server.url, token)  # learns its user's role: an administrator
    office.put_stage(
        ffi.Stage(id="tender", name="Tender", probability=40, kind=ffi.StageKind.OPEN, order=25, stale_after_days=14)
    )
    office.add_reason(ffi.ReasonCatalogue.LOST_REASONS, "  budget cut ")
    office.add_reason(ffi.ReasonCatalogue.END_REASONS, "moved abroad")
    with pytest.raises(ffi.RapportError.InvalidInput):
        office.add_reason(ffi.ReasonCatalogue.LOST_REASONS, "   ")
    office.add_reason(ffi.ReasonCatalogue.LOST_REASONS, "obsolete")
    office.remove_reason(ffi.ReasonCatalogue.LOST_REASONS, "obsolete")
    with pytest.raises(ffi.RapportError.NotFound):
        office.remove_reason(ffi.ReasonCatalogue.LOST_REASONS, "obsolete")
    sync(office, server.url, token)

    rita = ffi.Replica.open(str(tmp_path / "rita.db"), "rita", "rita-phone")
    rita_token = add_rep(server, "rita")
    sync(rita, server.url, rita_token)
    settings = rita.settings()
    tender = next(s for s in settings.stages if s.id == "tender")
    assert (tender.name, tender.probability, tender.order, tender.stale_after_days) == ("Tender", 40, 25, 14)
    assert "budget cut" in settings.lost_reasons and "moved abroad" in settings.end_reasons
    assert "obsolete" not in settings.lost_reasons, "a reason taken out is gone on every device"

    # A rep's device knows the rep may not change the settings: refused, nothing changed.
    with pytest.raises(ffi.RapportError.NotPermitted) as refused:
        rita.put_stage(
            ffi.Stage(id="tender", name="Mine", probability=1, kind=ffi.StageKind.OPEN, order=25, stale_after_days=1)
        )
    assert "administrators, managers and the office" in str(refused.value)
    with pytest.raises(ffi.RapportError.NotPermitted):
        rita.add_reason(ffi.ReasonCatalogue.LOST_REASONS, "too far")
    with pytest.raises(ffi.RapportError.NotPermitted):
        rita.remove_reason(ffi.ReasonCatalogue.LOST_REASONS, "budget cut")
    assert rita.settings() == settings
    assert rita.unsynced_count() == 0


def test_owners_are_chosen_from_the_directory_and_checked(ffi, server, token, tmp_path):
    import json
    import urllib.request

    from conftest import ADMIN_TOKEN

    def admin_post(path, body):
        request = urllib.request.Request(
            f"{server.url}{path}",
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request) as response:
            return json.loads(response.read())

    admin_post("/v1/admin/teams", {"name": "east"})
    admin_post("/v1/admin/users", {"name": "bohdan", "role": "rep", "teams": ["east"], "territories": ["UA-46"]})
    office = ffi.Replica.open(str(tmp_path / "office.db"), "olli", "office-desktop")

    # Never synced: nothing to choose from, and a name cannot be checked.
    assert office.directory() is None
    with pytest.raises(ffi.RapportError.InvalidInput) as unchecked:
        office.check_name(ffi.NameKind.OWNER, "bohdan")
    assert "sync first" in str(unchecked.value)

    sync(office, server.url, token)
    directory = office.directory()
    assert "bohdan" in directory.users and directory.teams == ["east"] and directory.territories == ["UA-46"]
    office.check_name(ffi.NameKind.OWNER, "bohdan")
    office.check_name(ffi.NameKind.TEAM, " east ")
    with pytest.raises(ffi.RapportError.InvalidInput) as typo:
        office.check_name(ffi.NameKind.OWNER, "bohdna")
    assert 'no owner named "bohdna"' in str(typo.value) and "did you mean bohdan?" in str(typo.value)
    with pytest.raises(ffi.RapportError.InvalidInput) as far:
        office.check_name(ffi.NameKind.TERRITORY, "Lapland")
    assert "known territories: UA-46" in str(far.value)
