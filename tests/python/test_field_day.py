"""A field rep's day, from Python through the generated bindings: sync, work
offline, reconnect, merge with the office's concurrent edits, resolve a conflict."""

import asyncio
import datetime

import pytest
import rapport_ffi

from conftest import dead_url


class Recorder(rapport_ffi.SyncListener):
    """A SyncListener that records what it hears."""

    def __init__(self):
        self.progress = []
        self.completed = []
        self.errors = []

    def on_progress(self, progress):
        self.progress.append(progress)

    def on_complete(self, report):
        self.completed.append(report)

    def on_error(self, message):
        self.errors.append(message)


def sync(replica, url, token, listener=None):
    return asyncio.run(replica.sync(url, token, listener))


def test_field_rep_day_merges_with_office(ffi, server, token, tmp_path):
    office = ffi.Replica.open(str(tmp_path / "office.db"), "olli", "office-desktop")
    rep = ffi.Replica.open(str(tmp_path / "rep.db"), "ana", "ana-phone")

    # Morning: the office sets up the account, the rep syncs it down.
    acme = office.create_account(
        ffi.NewAccount(name="Acme Oy", owner="ana", territory="north", notes="Met at the fair.")
    )
    maija = office.add_contact(acme, ffi.NewContact(name="Maija Virtanen", emails=["maija@acme.example"]))
    deal = office.add_deal(acme, ffi.NewDeal(title="Forklifts", amount=ffi.Money(minor=1_250_000, currency="EUR")))
    sync(office, server.url, token)

    listener = Recorder()
    report = sync(rep, server.url, token, listener)
    assert report.pulled_docs >= 1
    assert acme in report.pulled_ids
    assert listener.completed == [report] and listener.errors == []
    assert len(listener.progress) >= 1
    assert rep.account(acme).party.name == "Acme Oy"

    # Offline: the server goes down; sync fails with a typed network error.
    server.stop()
    offline = Recorder()
    with pytest.raises(ffi.RapportError.Network):
        sync(rep, server.url, token, offline)
    assert len(offline.errors) == 1 and offline.completed == []

    stages = [s.id for s in rep.settings().stages if s.kind == ffi.StageKind.OPEN]
    start_stage = rep.account(acme).deals[0].stage
    next_stage = stages[stages.index(start_stage) + 1]

    visit_at = datetime.datetime(2026, 3, 2, 9, 30, tzinfo=datetime.timezone.utc)
    rep.log_interaction(
        acme,
        ffi.NewInteraction(
            kind=ffi.InteractionKind.VISIT,
            subject="Site visit",
            contacts=[maija],
            deal=deal,
            actual_start=visit_at,
            check_in=ffi.Geo(lat=61.4978, lon=23.761),
        ),
    )
    rep.log_interaction(acme, ffi.NewInteraction(kind=ffi.InteractionKind.CALL, subject="Follow-up call"))
    rep.move_deal_stage(acme, deal, next_stage, None)
    rep.set_notes(acme, "Met at the fair.\nVisit: wants a demo in April.")
    rep.record_consent(
        acme,
        maija,
        ffi.NewConsent(channel=ffi.Channel.EMAIL, topic="newsletter", status=ffi.ConsentStatus.REFUSED, reason="asked"),
    )
    rep.set_field(acme, "party.address.city", "Tampere")
    rep.add_task(acme, ffi.NewTask(title="Send the demo offer", due="2026-03-09"))
    assert rep.unsynced_count() == 1

    # Meanwhile at the office: concurrent edits, one on the same field.
    office.set_field(acme, "party.address.city", "Espoo")
    office.add_tag(acme, "key-account")
    office.set_notes(acme, "Budget approved.\nMet at the fair.")

    # Reconnect: the server comes back on the same data directory (new port).
    server.start()
    sync(rep, server.url, token)
    sync(office, server.url, token)
    sync(rep, server.url, token)
    assert rep.unsynced_count() == 0 and office.unsynced_count() == 0

    merged = rep.account(acme)
    assert merged == office.account(acme)
    assert merged.visit_count == 1
    assert [i.subject for i in merged.interactions] == ["Site visit", "Follow-up call"]
    visit = next(i for i in merged.interactions if i.kind == ffi.InteractionKind.VISIT)
    assert visit.actual_start == visit_at and visit.contacts == [maija] and visit.deal == deal
    assert merged.deals[0].stage == next_stage
    assert [m.to for m in merged.deals[0].stage_history][-1] == next_stage
    assert merged.party.tags == ["key-account"]
    assert merged.party.notes == "Budget approved.\nMet at the fair.\nVisit: wants a demo in April."
    consent = merged.contacts[0].consents[-1]
    assert (consent.channel, consent.status, consent.by) == (ffi.Channel.EMAIL, ffi.ConsentStatus.REFUSED, "ana")
    assert merged.tasks[0].due == "2026-03-09" and merged.tasks[0].status == ffi.TaskStatus.TODO

    # The city is a conflict on both devices, with both values and their authors.
    conflicts = rep.conflicts(acme)
    assert [c.field for c in conflicts] == ["party.address.city"]
    values = {(v.value, v.user, v.device) for v in conflicts[0].values}
    assert values == {("Tampere", "ana", "ana-phone"), ("Espoo", "olli", "office-desktop")}
    assert [c.account_id for c in office.all_conflicts()] == [acme]
    assert [s.id for s in rep.list(ffi.AccountFilter(with_conflicts=True))] == [acme]

    # The rep resolves it; after a sync round the conflict is gone everywhere.
    rep.resolve_conflict(acme, "party.address.city", "Tampere")
    sync(rep, server.url, token)
    sync(office, server.url, token)
    for replica in (rep, office):
        assert replica.conflicts(acme) == []
        assert replica.account(acme).party.address.city == "Tampere"

    # History says who did what, from which device.
    history = office.history(acme)
    assert {(h.user, h.device) for h in history} == {("olli", "office-desktop"), ("ana", "ana-phone")}
    assert any(h.op == "account.notes" and h.user == "ana" for h in history)


def test_list_filters_and_search(ffi, tmp_path):
    replica = ffi.Replica.open(str(tmp_path / "r.db"), "ana", "ana-phone")
    north = replica.create_account(ffi.NewAccount(name="Northwind", territory="north", tags=["fleet"]))
    south = replica.create_account(ffi.NewAccount(name="Southwind", territory="south"))
    replica.add_contact(south, ffi.NewContact(name="Pekka Korhonen"))

    assert [s.name for s in replica.list(ffi.AccountFilter())] == ["Northwind", "Southwind"]
    assert [s.id for s in replica.list(ffi.AccountFilter(territory="north"))] == [north]
    assert [s.id for s in replica.list(ffi.AccountFilter(tag="fleet"))] == [north]
    assert [s.id for s in replica.search("Korhonen", 10)] == [south]

    replica.move_ladder(north, ffi.LoyaltyRung.CUSTOMER, "first order")
    replica.move_lifecycle(north, ffi.LifecyclePhase.EARLY, None)
    account = replica.account(north)
    assert account.party.loyalty_rung == ffi.LoyaltyRung.CUSTOMER
    assert [(m.to, m.reason, m.by) for m in account.ladder_history] == [(ffi.LoyaltyRung.CUSTOMER, "first order", "ana")]
    assert account.lifecycle_history[-1].to == ffi.LifecyclePhase.EARLY

    replica.soft_delete(south)
    assert [s.id for s in replica.list(ffi.AccountFilter())] == [north]
    assert replica.account(south).deleted is not None
    replica.restore(south)
    assert len(replica.list(ffi.AccountFilter())) == 2

    deal = replica.add_deal(north, ffi.NewDeal(title="Tyres", amount=ffi.Money(minor=5000, currency="eur")))
    replica.mark_deal_lost(north, deal, replica.settings().lost_reasons[0], "went elsewhere")
    lost = replica.account(north).deals[0]
    assert lost.outcome == ffi.DealOutcome.LOST and lost.amount == ffi.Money(minor=5000, currency="EUR")
    contact = replica.add_contact(north, ffi.NewContact(name="Liisa"))
    replica.deactivate_contact(north, contact)
    assert replica.account(north).contacts[0].active is False
