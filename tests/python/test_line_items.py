"""Deal line items from Python: edited on a phone, synced through a real server,
the amount following them unless set by hand."""

import asyncio

import pytest


def sync(replica, url, token):
    return asyncio.run(replica.sync(url, token, None))


def test_line_items_sync_and_the_amount_follows_them(ffi, server, token, tmp_path):
    office = ffi.Replica.open(str(tmp_path / "office.db"), "olli", "office-desktop")
    phone = ffi.Replica.open(str(tmp_path / "phone.db"), "ana", "ana-phone")
    acme = office.create_account(ffi.NewAccount(name="Acme Oy", owner="ana"))
    deal = office.add_deal(acme, ffi.NewDeal(title="Boilers", amount=ffi.Money(minor=1, currency="EUR")))
    sync(office, server.url, token)
    sync(phone, server.url, token)

    boiler = phone.add_line_item(
        acme, deal, ffi.NewLineItem(name="Boiler", quantity=2, unit_price_minor=120_050, discount_percent=10)
    )
    phone.add_line_item(acme, deal, ffi.NewLineItem(name="Valve", unit_price_minor=9_990))
    phone.update_line_item(acme, deal, boiler, ffi.LineItemChange(quantity=3))
    sync(phone, server.url, token)
    sync(office, server.url, token)

    shown = office.account(acme).deals[0]
    assert shown.amount_from_line_items
    assert shown.amount.minor == 324_135 + 9_990
    assert sorted((i.name, i.quantity) for i in shown.line_items) == [("Boiler", 3), ("Valve", 1)]

    # The office sets the amount by hand; the phone's next line item leaves it.
    office.set_field(acme, f"deals.{deal}.amount", "400000")
    sync(office, server.url, token)
    sync(phone, server.url, token)
    valve = next(i.id for i in phone.account(acme).deals[0].line_items if i.name == "Valve")
    phone.remove_line_item(acme, deal, valve)
    shown = phone.account(acme).deals[0]
    assert (shown.amount.minor, shown.amount_from_line_items, len(shown.line_items)) == (400_000, False, 1)
    phone.follow_line_items(acme, deal)
    assert phone.account(acme).deals[0].amount.minor == 324_135

    with pytest.raises(ffi.RapportError.InvalidInput):
        phone.add_line_item(acme, deal, ffi.NewLineItem(name="X", quantity=0, unit_price_minor=1))
    with pytest.raises(ffi.RapportError.NotFound):
        phone.remove_line_item(acme, deal, "0190f5a4-0000-7000-8000-000000000000")
