//! Every account operation through the public replica API, valid and invalid.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use rapport_core::*;
use time::macros::date;

/// Runs `f`, which must fail, and checks the account did not change.
#[track_caller]
fn refused<T: std::fmt::Debug>(
    fx: &mut Fixture,
    id: AccountId,
    f: impl FnOnce(&mut Editor<'_>) -> Result<T>,
) -> Result<T> {
    let before = fx.heads(id);
    let account_before = fx.replica.account(id).unwrap();
    let result = fx.replica.edit(id, f);
    assert!(result.is_err(), "operation should have been refused");
    assert_eq!(fx.heads(id), before, "a refused operation changed the document");
    assert_eq!(fx.replica.account(id).unwrap(), account_before);
    result
}

#[test]
fn create_account_with_every_field() {
    let mut fx = Fixture::new("ana");
    let mut new = NewAccount::new("  Acme Oy ");
    new.kind = PartyKind::Organization;
    new.roles = [Role::Customer, Role::Supplier].into();
    new.industry = Some("Forestry".into());
    new.website = Some("https://acme.example".into());
    new.address.city = Some("Tampere".into());
    new.address.country = Some("FI".into());
    new.geo = Some(Geo::new(61.5, 23.76).unwrap());
    new.owner = Some("ana".into());
    new.team = Some("north".into());
    new.territory = Some("FI-11".into());
    new.value_tier = ValueTier::Key;
    new.source = Some("trade fair".into());
    new.tags = ["paper".to_string(), "export".to_string()].into();
    new.demographics.insert("employees".into(), "250".into());
    new.buying_habits.insert("season".into(), "spring".into());
    new.notes = "Met at the fair.".into();
    let id = fx.replica.create_account(&new).unwrap();

    let a = fx.replica.account(id).unwrap();
    assert_eq!(a.id, id);
    assert_eq!(a.schema_version, SCHEMA_VERSION);
    assert_eq!(a.party.name, "Acme Oy");
    assert_eq!(a.party.roles, [Role::Customer, Role::Supplier].into());
    assert_eq!(a.party.industry.as_deref(), Some("Forestry"));
    assert_eq!(a.party.address.city.as_deref(), Some("Tampere"));
    assert_eq!(a.party.geo, Some(Geo { lat: 61.5, lon: 23.76 }));
    assert_eq!(a.party.owner.as_deref(), Some("ana"));
    assert_eq!(a.party.value_tier, ValueTier::Key);
    assert_eq!(a.party.loyalty_rung, LoyaltyRung::Prospect);
    assert_eq!(a.party.status, AccountStatus::Active);
    assert_eq!(a.party.tags.len(), 2);
    assert_eq!(a.party.demographics["employees"], "250");
    assert_eq!(a.party.buying_habits["season"], "spring");
    assert_eq!(a.party.notes, "Met at the fair.");
    assert_eq!(a.party.created_by, "ana");
    assert!(a.deleted.is_none() && a.merged_into.is_none());
}

#[test]
fn create_account_refuses_bad_input_and_stores_nothing() {
    let mut fx = Fixture::new("ana");
    assert_invalid(fx.replica.create_account(&NewAccount::new("   ")), "party.name");
    let mut bad_tag = NewAccount::new("Acme");
    bad_tag.tags.insert(" ".into());
    assert_invalid(fx.replica.create_account(&bad_tag), "party.tags");
    let mut bad_geo = NewAccount::new("Acme");
    bad_geo.geo = Some(Geo { lat: 91.0, lon: 0.0 });
    assert_invalid(fx.replica.create_account(&bad_geo), "geo");
    // A batch with one bad account stores none of it.
    assert!(fx.replica.create_accounts(&[NewAccount::new("Good"), NewAccount::new("")]).is_err());
    assert!(fx.replica.list(&AccountFilter::default()).unwrap().is_empty());
    assert!(fx.replica.account_ids().unwrap().is_empty());
    // A duplicate id is refused.
    let id = fx.account("Acme");
    let mut dup = NewAccount::new("Other");
    dup.id = Some(id);
    assert_invalid(fx.replica.create_account(&dup), "id");
}

#[test]
fn edits_of_many_accounts_are_stored_together_or_not_at_all() {
    let mut fx = Fixture::new("ana");
    let a = fx.account("Acme");
    let b = fx.account("Beta");
    let before = (fx.heads(a), fx.heads(b));
    // The second edit is refused: the first is not stored either.
    let edits = [(a, "party.industry", "Paper"), (b, "party.value_tier", "golden"), (a, "party.address.city", "Lviv")];
    let err = fx.replica.edit_each(edits.map(|(id, f, v)| (id, move |e: &mut Editor<'_>| e.set_field(f, v))));
    assert_invalid(err, "party.value_tier");
    assert_eq!((fx.heads(a), fx.heads(b)), before);
    // All good: every edit is stored, an account named twice keeps both edits.
    let edits = [(a, "party.industry", "Paper"), (b, "party.industry", "Steel"), (a, "party.address.city", "Lviv")];
    fx.replica.edit_each(edits.map(|(id, f, v)| (id, move |e: &mut Editor<'_>| e.set_field(f, v)))).unwrap();
    let fx = fx.reopen();
    let acme = fx.replica.account(a).unwrap();
    assert_eq!((acme.party.industry.as_deref(), acme.party.address.city.as_deref()), (Some("Paper"), Some("Lviv")));
    assert_eq!(fx.replica.account(b).unwrap().party.industry.as_deref(), Some("Steel"));
    assert_eq!(fx.replica.unsynced_count().unwrap(), 2);
}

#[test]
fn set_every_kind_of_scalar_field() {
    let mut fx = Fixture::new("ana");
    let id = fx.account("Acme");
    let cases = [
        ("name", "Acme Group", "Acme Group"),
        ("party.kind", "person", "person"),
        ("party.industry", "Paper", "Paper"),
        ("party.website", "https://acme.example", "https://acme.example"),
        ("party.geo", "60.17, 24.94", "60.17,24.94"),
        ("party.owner", "bob", "bob"),
        ("party.team", "south", "south"),
        ("party.territory", "FI-01", "FI-01"),
        ("party.value_tier", "Key", "key"),
        ("party.source", "referral", "referral"),
        ("address.city", "Oulu", "Oulu"),
        ("party.address.postcode", "90100", "90100"),
        ("party.demographics.employees", "40", "40"),
        ("party.buying_habits.budget_cycle", "Q4", "Q4"),
    ];
    for (path, value, _) in cases {
        fx.replica.edit(id, |e| e.set_field(path, value)).unwrap();
    }
    let a = fx.replica.account(id).unwrap();
    assert_eq!(a.party.name, "Acme Group");
    assert_eq!(a.party.kind, PartyKind::Person);
    assert_eq!(a.party.geo, Some(Geo { lat: 60.17, lon: 24.94 }));
    assert_eq!(a.party.owner.as_deref(), Some("bob"));
    assert_eq!(a.party.value_tier, ValueTier::Key);
    assert_eq!(a.party.address.city.as_deref(), Some("Oulu"));
    assert_eq!(a.party.address.postcode.as_deref(), Some("90100"));
    assert_eq!(a.party.demographics["employees"], "40");
    assert_eq!(a.party.buying_habits["budget_cycle"], "Q4");
    // An empty value clears an optional field.
    fx.replica.edit(id, |e| e.set_field("party.industry", "")).unwrap();
    assert_eq!(fx.replica.account(id).unwrap().party.industry, None);
    // Setting the rung or phase through set_field records history.
    fx.replica.edit(id, |e| e.set_field("party.loyalty_rung", "customer")).unwrap();
    fx.replica.edit(id, |e| e.set_field("party.lifecycle_phase", "early")).unwrap();
    let a = fx.replica.account(id).unwrap();
    assert_eq!(a.ladder_history.len(), 1);
    assert_eq!(a.lifecycle_history.len(), 1);
}

#[test]
fn set_field_refuses_bad_paths_and_values() {
    let mut fx = Fixture::new("ana");
    let id = fx.account("Acme");
    assert!(matches!(refused(&mut fx, id, |e| e.set_field("party.colour", "red")), Err(Error::UnknownField(_))));
    assert!(matches!(
        refused(&mut fx, id, |e| e.set_field("deals.not-a-uuid.amount", "1")),
        Err(Error::UnknownField(_))
    ));
    assert_invalid(refused(&mut fx, id, |e| e.set_field("name", "  ")), "party.name");
    assert_invalid(refused(&mut fx, id, |e| e.set_field("party.value_tier", "gold")), "party.value_tier");
    assert_invalid(refused(&mut fx, id, |e| e.set_field("party.geo", "north")), "party.geo");
    assert_invalid(refused(&mut fx, id, |e| e.set_field("party.parent", "acme")), "party.parent");
    assert_invalid(refused(&mut fx, id, |e| e.set_field("party.loyalty_rung", "fan")), "party.loyalty_rung");
    let unknown = DealId::new();
    assert_not_found(refused(&mut fx, id, |e| e.set_field(&format!("deals.{unknown}.title"), "x")), RecordKind::Deal);
    assert_not_found(fx.replica.edit(AccountId::new(), |e| e.set_field("name", "x")), RecordKind::Account);
}

#[test]
fn contacts_add_edit_deactivate() {
    let mut fx = Fixture::new("ana");
    let id = fx.account("Acme");
    let new = NewContact {
        name: "Mia Virtanen".into(),
        job_title: Some("Buyer".into()),
        emails: ["mia@acme.example".to_string()].into(),
        phones: vec![Phone { kind: PhoneKind::Mobile, number: "+358 40 123 4567".into() }],
        preferred_channel: Some(Channel::Phone),
        language: Some("fi".into()),
    };
    let c = fx.replica.edit(id, |e| e.add_contact(&new)).unwrap();
    fx.replica.edit(id, |e| e.set_field(&format!("contacts.{c}.job_title"), "Head of purchasing")).unwrap();
    fx.replica.edit(id, |e| e.add_email(c, "mia.v@acme.example")).unwrap();
    fx.replica.edit(id, |e| e.remove_email(c, "mia@acme.example")).unwrap();
    fx.replica.edit(id, |e| e.add_phone(c, &Phone { kind: PhoneKind::Work, number: "03 555 0100".into() })).unwrap();
    fx.replica.edit(id, |e| e.remove_phone(c, "+358 40 123 4567")).unwrap();
    fx.replica.edit(id, |e| e.deactivate_contact(c)).unwrap();
    let a = fx.replica.account(id).unwrap();
    let contact = a.contact(c).unwrap();
    assert_eq!(contact.job_title.as_deref(), Some("Head of purchasing"));
    assert_eq!(contact.emails, ["mia.v@acme.example".to_string()].into());
    assert_eq!(contact.phones, vec![Phone { kind: PhoneKind::Work, number: "03 555 0100".into() }]);
    assert_eq!(contact.preferred_channel, Some(Channel::Phone));
    assert!(!contact.active, "a contact who left stays, inactive");
    fx.replica.edit(id, |e| e.reactivate_contact(c)).unwrap();
    assert!(fx.replica.account(id).unwrap().contact(c).unwrap().active);

    assert_invalid(refused(&mut fx, id, |e| e.add_contact(&NewContact::default())), "contact.name");
    let bad_email = NewContact { name: "X".into(), emails: ["not-an-email".to_string()].into(), ..Default::default() };
    assert_invalid(refused(&mut fx, id, |e| e.add_contact(&bad_email)), "contact.emails");
    assert_invalid(
        refused(&mut fx, id, |e| e.add_phone(c, &Phone { kind: PhoneKind::Work, number: "call me".into() })),
        "contact.phones",
    );
    assert_not_found(refused(&mut fx, id, |e| e.add_email(ContactId::new(), "a@b.example")), RecordKind::Contact);
    assert_invalid(
        refused(&mut fx, id, |e| e.set_field(&format!("contacts.{c}.preferred_channel"), "pigeon")),
        "preferred_channel",
    );
}

#[test]
fn consents_and_refusals_are_kept_per_channel_and_topic() {
    let mut fx = Fixture::new("ana");
    let id = fx.account("Acme");
    let c = fx.replica.edit(id, |e| e.add_contact(&NewContact { name: "Mia".into(), ..Default::default() })).unwrap();
    let consent = |status, reason: Option<&str>| NewConsent {
        channel: Channel::Email,
        topic: "newsletter".into(),
        status,
        reason: reason.map(String::from),
    };
    fx.replica.edit(id, |e| e.record_consent(c, &consent(ConsentStatus::OptIn, None))).unwrap();
    fx.replica.edit(id, |e| e.record_consent(c, &consent(ConsentStatus::Refused, Some("too many mails")))).unwrap();
    let a = fx.replica.account(id).unwrap();
    let contact = a.contact(c).unwrap();
    assert_eq!(contact.consents.len(), 2, "earlier records are kept");
    let latest = contact.consent_for(Channel::Email, "newsletter").unwrap();
    assert_eq!(latest.status, ConsentStatus::Refused);
    assert_eq!(latest.reason.as_deref(), Some("too many mails"));
    assert_eq!(latest.by, "ana");
    assert!(contact.consent_for(Channel::Phone, "newsletter").is_none());
    let empty_topic = NewConsent { topic: " ".into(), ..consent(ConsentStatus::OptOut, None) };
    assert_invalid(refused(&mut fx, id, |e| e.record_consent(c, &empty_topic)), "consent.topic");
    assert_not_found(
        refused(&mut fx, id, |e| e.record_consent(ContactId::new(), &consent(ConsentStatus::OptOut, None))),
        RecordKind::Contact,
    );
}

#[test]
fn deals_stage_moves_record_history_and_default_probability() {
    let mut fx = Fixture::new("ana");
    let id = fx.account("Acme");
    let mut new = NewDeal::new("Paper machine", eur(12_500_000));
    new.expected_close = Some(date!(2027 - 03 - 31));
    new.next_step = Some("Send offer".into());
    new.next_step_due = Some(date!(2026 - 12 - 01));
    let d = fx.replica.edit(id, |e| e.add_deal(&new)).unwrap();
    let deal = fx.replica.account(id).unwrap().deal(d).unwrap().clone();
    assert_eq!(deal.stage, "prospecting");
    assert_eq!(deal.probability, 10);
    assert_eq!(deal.amount, eur(12_500_000));
    assert_eq!(deal.outcome, DealOutcome::Open);
    assert_eq!(deal.forecast, ForecastCategory::Pipeline);
    assert_eq!(deal.stage_history.len(), 1);
    assert_eq!(deal.stage_history[0].from, None);

    fx.replica.edit(id, |e| e.move_deal_stage(d, "proposal", None)).unwrap();
    fx.replica.edit(id, |e| e.move_deal_stage(d, "negotiation", Some(65))).unwrap();
    let deal = fx.replica.account(id).unwrap().deal(d).unwrap().clone();
    assert_eq!(deal.stage, "negotiation");
    assert_eq!(deal.probability, 65, "an explicit probability overrides the stage default");
    let moves: Vec<_> = deal.stage_history.iter().map(|m| (m.from.clone(), m.to.clone())).collect();
    assert_eq!(
        moves,
        vec![
            (None, "prospecting".to_string()),
            (Some("prospecting".into()), "proposal".into()),
            (Some("proposal".into()), "negotiation".into()),
        ]
    );
    // set_field on the stage is a stage move too.
    fx.replica.edit(id, |e| e.set_field(&format!("deals.{d}.stage"), "won")).unwrap();
    let deal = fx.replica.account(id).unwrap().deal(d).unwrap().clone();
    assert_eq!((deal.outcome, deal.probability, deal.forecast), (DealOutcome::Won, 100, ForecastCategory::Closed));
    assert_eq!(deal.stage_history.len(), 4);
    // Amount and other scalars.
    fx.replica.edit(id, |e| e.set_field(&format!("deals.{d}.amount"), "9900000")).unwrap();
    fx.replica.edit(id, |e| e.set_field(&format!("deals.{d}.currency"), "sek")).unwrap();
    let deal = fx.replica.account(id).unwrap().deal(d).unwrap().clone();
    assert_eq!(deal.amount, Money { minor: 9_900_000, currency: "SEK".into() });
}

#[test]
fn deals_refuse_bad_money_probability_and_stage() {
    let mut fx = Fixture::new("ana");
    let id = fx.account("Acme");
    assert_invalid(Money::new(-1, "EUR"), "amount");
    assert_invalid(Money::new(1, "EURO"), "currency");
    let negative = NewDeal::new("X", Money { minor: -5, currency: "EUR".into() });
    assert_invalid(refused(&mut fx, id, |e| e.add_deal(&negative)), "deal.amount");
    let mut too_likely = NewDeal::new("X", eur(1));
    too_likely.probability = Some(101);
    assert_invalid(refused(&mut fx, id, |e| e.add_deal(&too_likely)), "deal.probability");
    let mut unknown_stage = NewDeal::new("X", eur(1));
    unknown_stage.stage = Some("dreaming".into());
    assert_not_found(refused(&mut fx, id, |e| e.add_deal(&unknown_stage)), RecordKind::Stage);
    assert_invalid(refused(&mut fx, id, |e| e.add_deal(&NewDeal::new(" ", eur(1)))), "deal.title");

    let d = fx.replica.edit(id, |e| e.add_deal(&NewDeal::new("Real", eur(100)))).unwrap();
    let path = |f: &str| format!("deals.{d}.{f}");
    assert_invalid(refused(&mut fx, id, |e| e.set_field(&path("amount"), "12.50")), "amount");
    assert_invalid(refused(&mut fx, id, |e| e.set_field(&path("amount"), "-3")), "amount");
    assert_invalid(refused(&mut fx, id, |e| e.set_field(&path("probability"), "150")), "probability");
    assert_invalid(refused(&mut fx, id, |e| e.set_field(&path("probability"), "high")), "probability");
    assert_invalid(refused(&mut fx, id, |e| e.set_field(&path("expected_close"), "31.3.2027")), "expected_close");
    assert_not_found(refused(&mut fx, id, |e| e.move_deal_stage(d, "dreaming", None)), RecordKind::Stage);
    assert_not_found(refused(&mut fx, id, |e| e.move_deal_stage(DealId::new(), "proposal", None)), RecordKind::Deal);
    assert_invalid(refused(&mut fx, id, |e| e.move_deal_stage(d, "proposal", Some(101))), "probability");
    assert_invalid(refused(&mut fx, id, |e| e.mark_deal_lost(d, "bad vibes", None)), "lost_reason");

    fx.replica.edit(id, |e| e.mark_deal_lost(d, "competitor", Some("cheaper offer"))).unwrap();
    let deal = fx.replica.account(id).unwrap().deal(d).unwrap().clone();
    assert_eq!(deal.outcome, DealOutcome::Lost);
    assert_eq!(deal.stage, "lost");
    assert_eq!(deal.lost_reason.as_deref(), Some("competitor"));
    assert_eq!(deal.lost_note.as_deref(), Some("cheaper offer"));
}

#[test]
fn a_planned_visit_marked_held_counts_once_and_keeps_its_plan() {
    let mut fx = Fixture::new("ana");
    let id = fx.account("Acme");
    let start = time::OffsetDateTime::now_utc() + time::Duration::days(1);
    let mut planned = NewInteraction::new(InteractionKind::Visit, "Mill tour");
    planned.status = InteractionStatus::Planned;
    planned.planned_start = Some(start);
    let p = fx.replica.edit(id, |e| e.log_interaction(&planned)).unwrap();
    assert_eq!(fx.replica.account(id).unwrap().visit_count, 0, "a planned visit is not counted");

    let held_at = start + time::Duration::minutes(10);
    let held = HeldInteraction {
        at: Some(held_at),
        until: Some(held_at + time::Duration::hours(1)),
        outcome: Some("  ordered a sample ".into()),
        notes: None,
    };
    fx.replica.edit(id, |e| e.hold_interaction(p, &held)).unwrap();
    let a = fx.replica.account(id).unwrap();
    let i = a.interaction(p).unwrap();
    assert_eq!(i.status, InteractionStatus::Held);
    assert_eq!(i.planned_start.map(|t| t.unix_timestamp()), Some(start.unix_timestamp()), "the plan is kept");
    assert_eq!(i.actual_start.map(|t| t.unix_timestamp()), Some(held_at.unix_timestamp()));
    assert_eq!(i.outcome.as_deref(), Some("ordered a sample"));
    assert_eq!(a.visit_count, 1);

    // Twice is refused and changes nothing; so is an unknown id, a backwards end, a cancelled one.
    assert_invalid(refused(&mut fx, id, |e| e.hold_interaction(p, &HeldInteraction::default())), "interaction.status");
    assert_not_found(
        refused(&mut fx, id, |e| e.hold_interaction(InteractionId::new(), &HeldInteraction::default())),
        RecordKind::Interaction,
    );
    let mut call = NewInteraction::new(InteractionKind::Call, "Call back");
    call.status = InteractionStatus::Planned;
    let c = fx.replica.edit(id, |e| e.log_interaction(&call)).unwrap();
    let backwards =
        HeldInteraction { at: Some(start), until: Some(start - time::Duration::hours(1)), ..Default::default() };
    assert_invalid(refused(&mut fx, id, |e| e.hold_interaction(c, &backwards)), "interaction.end");
    fx.replica.edit(id, |e| e.set_field(&format!("interactions.{c}.status"), "cancelled")).unwrap();
    assert_invalid(refused(&mut fx, id, |e| e.hold_interaction(c, &HeldInteraction::default())), "interaction.status");
    assert_eq!(fx.replica.account(id).unwrap().visit_count, 1);
}

#[test]
fn interactions_are_logged_and_visits_counted() {
    let mut fx = Fixture::new("ana");
    let id = fx.account("Acme");
    let c = fx.replica.edit(id, |e| e.add_contact(&NewContact { name: "Mia".into(), ..Default::default() })).unwrap();
    let d = fx.replica.edit(id, |e| e.add_deal(&NewDeal::new("Deal", eur(100)))).unwrap();
    let mut visit = NewInteraction::new(InteractionKind::Visit, "Site visit");
    visit.contacts.insert(c);
    visit.deal = Some(d);
    visit.check_in = Some(Geo::new(61.5, 23.7).unwrap());
    visit.notes = Some("Walked the mill".into());
    let v = fx.replica.edit(id, |e| e.log_interaction(&visit)).unwrap();
    let mut planned = NewInteraction::new(InteractionKind::Call, "Follow-up call");
    planned.status = InteractionStatus::Planned;
    planned.planned_start = Some(time::OffsetDateTime::now_utc() + time::Duration::days(2));
    let p = fx.replica.edit(id, |e| e.log_interaction(&planned)).unwrap();
    fx.replica.edit(id, |e| e.log_interaction(&NewInteraction::new(InteractionKind::Visit, "Second visit"))).unwrap();

    let a = fx.replica.account(id).unwrap();
    assert_eq!(a.interactions.len(), 3);
    assert_eq!(a.visit_count, 2, "two held visits");
    let logged = a.interaction(v).unwrap();
    assert_eq!(logged.contacts, [c].into());
    assert_eq!(logged.deal, Some(d));
    assert!(logged.staff.contains("ana"));
    assert_eq!(a.interaction(p).unwrap().status, InteractionStatus::Planned);
    assert!(a.interactions.windows(2).all(|w| w[0].when() <= w[1].when()), "ordered by time");

    fx.replica.edit(id, |e| e.set_field(&format!("interactions.{p}.status"), "held")).unwrap();
    assert_eq!(fx.replica.account(id).unwrap().interaction(p).unwrap().status, InteractionStatus::Held);

    let mut unknown_contact = NewInteraction::new(InteractionKind::Call, "x");
    unknown_contact.contacts.insert(ContactId::new());
    assert_not_found(refused(&mut fx, id, |e| e.log_interaction(&unknown_contact)), RecordKind::Contact);
    let mut unknown_deal = NewInteraction::new(InteractionKind::Call, "x");
    unknown_deal.deal = Some(DealId::new());
    assert_not_found(refused(&mut fx, id, |e| e.log_interaction(&unknown_deal)), RecordKind::Deal);
    let mut backwards = NewInteraction::new(InteractionKind::Meeting, "x");
    backwards.actual_start = Some(time::OffsetDateTime::now_utc());
    backwards.actual_end = Some(time::OffsetDateTime::now_utc() - time::Duration::hours(1));
    assert_invalid(refused(&mut fx, id, |e| e.log_interaction(&backwards)), "interaction.end");
    assert_invalid(
        refused(&mut fx, id, |e| e.log_interaction(&NewInteraction::new(InteractionKind::Note, ""))),
        "subject",
    );
}

#[test]
fn tasks_and_ties() {
    let mut fx = Fixture::new("ana");
    let id = fx.account("Acme");
    let t = fx
        .replica
        .edit(id, |e| {
            e.add_task(&NewTask {
                title: "Send brochure".into(),
                due: Some(date!(2026 - 12 - 24)),
                assignee: Some("bob".into()),
            })
        })
        .unwrap();
    fx.replica.edit(id, |e| e.complete_task(t)).unwrap();
    let a = fx.replica.account(id).unwrap();
    assert_eq!(a.task(t).unwrap().status, TaskStatus::Done);
    assert_eq!(a.task(t).unwrap().assignee.as_deref(), Some("bob"));
    assert_invalid(refused(&mut fx, id, |e| e.add_task(&NewTask::default())), "task.title");
    assert_not_found(refused(&mut fx, id, |e| e.complete_task(TaskId::new())), RecordKind::Task);

    let other = fx.account("Acme Holding");
    let tie = fx
        .replica
        .edit(id, |e| {
            e.add_tie(&NewTie { from: id.0, to: other.0, kind: TieKind::Parent, role: Some("subsidiary".into()) })
        })
        .unwrap();
    let a = fx.replica.account(id).unwrap();
    assert_eq!(a.ties.len(), 1);
    assert_eq!(a.ties[0].id, tie);
    assert_eq!(a.ties[0].to, other.0);
    assert_invalid(
        refused(&mut fx, id, |e| e.add_tie(&NewTie { from: id.0, to: id.0, kind: TieKind::Social, role: None })),
        "tie.to",
    );
}

#[test]
fn ladder_lifecycle_and_ending_keep_history() {
    let mut fx = Fixture::new("ana");
    let id = fx.account("Acme");
    fx.replica.edit(id, |e| e.move_ladder(LoyaltyRung::Customer, Some("first order"))).unwrap();
    fx.replica.edit(id, |e| e.move_ladder(LoyaltyRung::Client, None)).unwrap();
    fx.replica.edit(id, |e| e.move_ladder(LoyaltyRung::Customer, Some("complaint"))).unwrap();
    fx.replica.edit(id, |e| e.move_lifecycle(LifecyclePhase::Early, None)).unwrap();
    fx.replica.edit(id, |e| e.move_lifecycle(LifecyclePhase::Development, None)).unwrap();
    let a = fx.replica.account(id).unwrap();
    assert_eq!(a.party.loyalty_rung, LoyaltyRung::Customer);
    let ladder: Vec<_> = a.ladder_history.iter().map(|m| (m.from, m.to)).collect();
    assert_eq!(
        ladder,
        vec![
            (LoyaltyRung::Prospect, LoyaltyRung::Customer),
            (LoyaltyRung::Customer, LoyaltyRung::Client),
            (LoyaltyRung::Client, LoyaltyRung::Customer),
        ]
    );
    assert_eq!(a.ladder_history[2].reason.as_deref(), Some("complaint"));
    assert_eq!(a.lifecycle_history.len(), 2);

    assert_invalid(
        refused(&mut fx, id, |e| e.end_relationship(AccountStatus::Lost, "aliens", date!(2026 - 11 - 01))),
        "end_reason",
    );
    assert_invalid(
        refused(&mut fx, id, |e| e.end_relationship(AccountStatus::Active, "other", date!(2026 - 11 - 01))),
        "party.status",
    );
    fx.replica
        .edit(id, |e| e.end_relationship(AccountStatus::Former, "switched_supplier", date!(2026 - 11 - 01)))
        .unwrap();
    let a = fx.replica.account(id).unwrap();
    assert_eq!(a.party.status, AccountStatus::Former);
    let ending = a.party.ending.unwrap();
    assert_eq!(ending.reason, "switched_supplier");
    assert_eq!(ending.phase, LifecyclePhase::Development, "the phase in which it ended is kept");
    // Corporate memory: a former customer is still listed and never deleted.
    let former = fx.replica.list(&AccountFilter { status: Some(AccountStatus::Former), ..Default::default() }).unwrap();
    assert_eq!(former.len(), 1);
}

#[test]
fn an_ended_relationship_reopens_and_ends_again() {
    let mut fx = Fixture::new("ana");
    let id = fx.account("Acme");
    fx.replica.edit(id, |e| e.end_relationship(AccountStatus::Lost, "dissatisfied", date!(2026 - 11 - 01))).unwrap();
    fx.replica.edit(id, |e| e.reopen_relationship()).unwrap();
    let a = fx.replica.account(id).unwrap();
    assert_eq!(a.party.status, AccountStatus::Active);
    assert_eq!(a.party.ending, None, "the ending is cleared");
    let lost = fx.replica.list(&AccountFilter { status: Some(AccountStatus::Lost), ..Default::default() }).unwrap();
    assert!(lost.is_empty(), "no longer listed as lost");
    let ops: Vec<String> = fx.replica.history(id).unwrap().into_iter().map(|h| h.op).collect();
    assert!(ops.iter().any(|o| o == "party.end") && ops.last().map(String::as_str) == Some("party.reopen"), "{ops:?}");

    fx.replica.edit(id, |e| e.end_relationship(AccountStatus::Former, "moved_away", date!(2027 - 01 - 31))).unwrap();
    let ending = fx.replica.account(id).unwrap().party.ending.unwrap();
    assert_eq!((ending.reason.as_str(), ending.on), ("moved_away", date!(2027 - 01 - 31)));
}

#[test]
fn tags_roles_and_notes() {
    let mut fx = Fixture::new("ana");
    let id = fx.account("Acme");
    fx.replica.edit(id, |e| e.add_tag("paper")).unwrap();
    fx.replica.edit(id, |e| e.add_tag("export")).unwrap();
    fx.replica.edit(id, |e| e.remove_tag("paper")).unwrap();
    fx.replica.edit(id, |e| e.add_role(Role::Reseller)).unwrap();
    fx.replica.edit(id, |e| e.remove_role(Role::Customer)).unwrap();
    fx.replica.edit(id, |e| e.set_notes("Visit in spring.")).unwrap();
    fx.replica.edit(id, |e| e.splice_notes(6, 0, "them ")).unwrap();
    let a = fx.replica.account(id).unwrap();
    assert_eq!(a.party.tags, ["export".to_string()].into());
    assert_eq!(a.party.roles, [Role::Reseller].into());
    assert_eq!(a.party.notes, "Visit them in spring.");
    assert_invalid(refused(&mut fx, id, |e| e.add_tag("")), "party.tags");
    assert_invalid(refused(&mut fx, id, |e| e.splice_notes(999, 0, "x")), "party.notes");
    assert_invalid(refused(&mut fx, id, |e| e.splice_notes(0, 999, "")), "party.notes");
}

#[test]
fn soft_delete_and_restore() {
    let mut fx = Fixture::new("ana");
    let id = fx.account("Acme");
    fx.account("Other");
    fx.replica.edit(id, |e| e.soft_delete()).unwrap();
    let a = fx.replica.account(id).unwrap();
    assert_eq!(a.deleted.as_ref().map(|d| d.by.as_str()), Some("ana"));
    assert_eq!(fx.replica.list(&AccountFilter::default()).unwrap().len(), 1, "deleted accounts are hidden");
    let all = fx.replica.list(&AccountFilter { include_deleted: true, ..Default::default() }).unwrap();
    assert_eq!(all.len(), 2, "but kept");
    fx.replica.edit(id, |e| e.restore()).unwrap();
    assert!(fx.replica.account(id).unwrap().deleted.is_none());
    assert_eq!(fx.replica.list(&AccountFilter::default()).unwrap().len(), 2);
}

#[test]
fn filtered_lists_and_full_text_search() {
    let mut fx = Fixture::new("ana");
    let mut a = NewAccount::new("Acme Paper");
    a.owner = Some("ana".into());
    a.team = Some("north".into());
    a.territory = Some("FI-11".into());
    a.value_tier = ValueTier::Key;
    a.tags.insert("paper".into());
    let acme = fx.replica.create_account(&a).unwrap();
    let mut b = NewAccount::new("Borealis Timber");
    b.owner = Some("bob".into());
    b.team = Some("north".into());
    b.territory = Some("FI-12".into());
    let borealis = fx.replica.create_account(&b).unwrap();
    fx.replica.edit(acme, |e| e.add_deal(&NewDeal::new("Deal", eur(1)))).unwrap();
    let d = fx.replica.edit(borealis, |e| e.add_deal(&NewDeal::new("Deal", eur(1)))).unwrap();
    fx.replica.edit(borealis, |e| e.move_deal_stage(d, "proposal", None)).unwrap();
    fx.replica.edit(borealis, |e| e.move_ladder(LoyaltyRung::Advocate, None)).unwrap();
    fx.replica.edit(borealis, |e| e.move_lifecycle(LifecyclePhase::LongTerm, None)).unwrap();
    fx.replica
        .edit(borealis, |e| {
            e.add_contact(&NewContact {
                name: "Jönssön Kalle".into(),
                emails: ["kalle@borealis.example".to_string()].into(),
                ..Default::default()
            })
        })
        .unwrap();
    fx.replica.edit(acme, |e| e.set_notes("Interested in recycled pulp for 2027.")).unwrap();

    let names =
        |f: AccountFilter| -> Vec<String> { fx.replica.list(&f).unwrap().into_iter().map(|s| s.name).collect() };
    assert_eq!(names(AccountFilter::default()), vec!["Acme Paper", "Borealis Timber"]);
    assert_eq!(names(AccountFilter { owner: Some("bob".into()), ..Default::default() }), vec!["Borealis Timber"]);
    assert_eq!(names(AccountFilter { team: Some("north".into()), ..Default::default() }).len(), 2);
    assert_eq!(names(AccountFilter { territory: Some("FI-11".into()), ..Default::default() }), vec!["Acme Paper"]);
    assert_eq!(names(AccountFilter { value_tier: Some(ValueTier::Key), ..Default::default() }), vec!["Acme Paper"]);
    assert_eq!(
        names(AccountFilter { loyalty_rung: Some(LoyaltyRung::Advocate), ..Default::default() }),
        vec!["Borealis Timber"]
    );
    assert_eq!(
        names(AccountFilter { lifecycle_phase: Some(LifecyclePhase::LongTerm), ..Default::default() }),
        vec!["Borealis Timber"]
    );
    assert_eq!(
        names(AccountFilter { deal_stage: Some("proposal".into()), ..Default::default() }),
        vec!["Borealis Timber"]
    );
    assert_eq!(
        names(AccountFilter { deal_stage: Some("prospecting".into()), ..Default::default() }),
        vec!["Acme Paper"]
    );
    assert_eq!(names(AccountFilter { tag: Some("paper".into()), ..Default::default() }), vec!["Acme Paper"]);
    assert!(names(AccountFilter { tag: Some("steel".into()), ..Default::default() }).is_empty());
    assert_eq!(
        names(AccountFilter {
            team: Some("north".into()),
            owner: Some("ana".into()),
            tag: Some("paper".into()),
            ..Default::default()
        }),
        vec!["Acme Paper"]
    );

    let search = |q: &str| -> Vec<String> { fx.replica.search(q, 10).unwrap().into_iter().map(|s| s.name).collect() };
    assert_eq!(search("borealis"), vec!["Borealis Timber"], "by name");
    assert_eq!(search("jonsson"), vec!["Borealis Timber"], "by contact name, diacritics folded");
    assert_eq!(search("kalle@borealis"), vec!["Borealis Timber"], "by contact email");
    assert_eq!(search("recycl pulp"), vec!["Acme Paper"], "by notes, prefix terms");
    assert!(search("\"unbalanced AND (").is_empty(), "search syntax in user input is harmless");
    assert!(search("   ").is_empty());

    // Edits that leave tags, stages and text alone keep them; edits that
    // change them replace the old rows.
    fx.replica.edit(acme, |e| e.set_field("party.industry", "Paper")).unwrap();
    let search =
        |r: &Replica, q: &str| -> Vec<String> { r.search(q, 10).unwrap().into_iter().map(|s| s.name).collect() };
    let tagged = |r: &Replica, tag: &str| -> Vec<String> {
        let filter = AccountFilter { tag: Some(tag.into()), ..Default::default() };
        r.list(&filter).unwrap().into_iter().map(|s| s.name).collect()
    };
    assert_eq!(search(&fx.replica, "pulp"), vec!["Acme Paper"]);
    assert_eq!(tagged(&fx.replica, "paper"), vec!["Acme Paper"]);
    fx.replica
        .edit(acme, |e| {
            e.remove_tag("paper")?;
            e.add_tag("pulp")?;
            e.set_field("party.name", "Acme Pulp")?;
            e.set_notes("Wants a quote for kraft liners.")
        })
        .unwrap();
    assert!(search(&fx.replica, "recycled").is_empty(), "old notes are no longer searchable");
    assert_eq!(search(&fx.replica, "kraft"), vec!["Acme Pulp"]);
    assert_eq!(search(&fx.replica, "acme pulp"), vec!["Acme Pulp"]);
    assert!(tagged(&fx.replica, "paper").is_empty());
    assert_eq!(tagged(&fx.replica, "pulp"), vec!["Acme Pulp"]);
}

#[test]
fn an_ambiguous_account_prefix_says_when_it_lists_only_some_matches() {
    let mut fx = Fixture::new("ana");
    let ids: Vec<AccountId> = (0..3).map(|i| fx.account(&format!("Acme {i}"))).collect();
    // Ids are time-ordered (UUIDv7): accounts made together share their first characters.
    let prefix = &ids[0].to_string()[..4];
    let three = fx.replica.find_account(prefix).unwrap_err();
    assert!(matches!(&three, Error::AmbiguousId { matches, more: false, .. } if matches.len() == 3), "{three:?}");
    assert!(three.to_string().starts_with(&format!("the id {prefix} could be any of 3 accounts (")), "{three}");
    for i in 3..7 {
        fx.account(&format!("Acme {i}"));
    }
    let many = fx.replica.find_account(prefix).unwrap_err();
    assert!(matches!(&many, Error::AmbiguousId { matches, more: true, .. } if matches.len() == 5), "{many:?}");
    let text = many.to_string();
    assert!(text.starts_with(&format!("the id {prefix} could be any of more than 5 accounts (")), "{text}");
    assert!(text.ends_with(", …); type more of it"), "{text}");
}
