use rapport_core::*;

#[test]
fn smoke() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = Replica::open(dir.path().join("r.db"), &DeviceIdentity::new("ana", "phone")).unwrap();
    let id = r.create_account(&NewAccount::new("Acme")).unwrap();
    r.edit(id, |e| e.set_field("party.address.city", "Tampere")).unwrap();
    let deal = r.edit(id, |e| e.add_deal(&NewDeal::new("Big", Money::new(1000, "eur")?))).unwrap();
    r.edit(id, |e| e.move_deal_stage(deal, "proposal", None)).unwrap();
    r.edit(id, |e| e.set_notes("hello world")).unwrap();
    let a = r.account(id).unwrap();
    println!("{a:#?}");
    println!("{:#?}", r.history(id).unwrap());
    println!("{:#?}", r.list(&AccountFilter::default()).unwrap());
    println!("{:#?}", r.search("hello", 10).unwrap());
    let bytes = r.export_document(id).unwrap();
    let dir2 = tempfile::tempdir().unwrap();
    let mut r2 = Replica::open(dir2.path().join("r.db"), &DeviceIdentity::new("bob", "desk")).unwrap();
    r2.import_document(&bytes).unwrap();
    r2.edit(id, |e| e.set_field("name", "Acme B")).unwrap();
    r.edit(id, |e| e.set_field("name", "Acme A")).unwrap();
    r.import_document(&r2.export_document(id).unwrap()).unwrap();
    println!("{:#?}", r.conflicts(id).unwrap());
    println!("{:#?}", r.all_conflicts().unwrap().len());
    assert!(Replica::open(dir.path().join("r.db"), &DeviceIdentity::new("ana", "phone")).is_err());
}
