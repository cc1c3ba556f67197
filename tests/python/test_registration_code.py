"""The party's registration code (ЄДРПОУ, ИНН; document lens 3) through the bindings."""


def test_a_registration_code_is_set_read_cleared_and_searched(ffi, tmp_path):
    replica = ffi.Replica.open(str(tmp_path / "r.db"), "ana", "ana-phone")
    acme = replica.create_account(ffi.NewAccount(name="ТОВ «Ромашка»"))
    assert replica.account(acme).party.registration_code is None

    replica.set_field(acme, "party.registration_code", " 3214 5678 ")
    account = replica.account(acme)
    assert account.party.registration_code == "3214 5678"

    replica.set_field(acme, "party.registration_code", "")
    assert replica.account(acme).party.registration_code is None
