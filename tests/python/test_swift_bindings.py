"""There is no Swift compiler here: check that the generated Swift API has the shape apps use."""

import re

from conftest import ROOT

SWIFT = ROOT / "target" / "bindings" / "swift"


def test_swift_bindings_have_the_expected_api():
    source = (SWIFT / "rapport_ffi.swift").read_text()
    expected = [
        r"open class Replica\b",
        r"public static func `open`\(path: String, user: String, device: String\)\s*throws\s*-> Replica",
        r"func sync\(serverUrl: String, token: String, listener: SyncListener\?, caCertPem: String\? = nil\)\s*async throws\s*-> SyncReport",
        r"public enum RapportError: Swift\.Error",
        r"public protocol SyncListener\b",
        r"func onProgress\(progress: SyncProgress\)",
        r"func account\(accountId: String\) throws\s*-> Account",
        r"func setField\(accountId: String, path: String, value: String\) throws",
        r"func resolveConflict\(accountId: String, field: String, value: String\) throws",
        r"public struct Account\b",
        r"public struct Money\b",
        r"public enum LoyaltyRung\b",
        r"public func settableFields\(\)",
        r"public func whoami\(serverUrl: String, token: String, caCertPem: String\? = nil\)\s*async throws\s*-> TokenOwner",
    ]
    flat = re.sub(r"\s+", " ", source)
    missing = [p for p in expected if not re.search(p, source) and not re.search(p, flat)]
    assert missing == []
    for case in ["network", "unauthorized", "rejectedChange", "invalidInput", "notFound", "storage"]:
        assert re.search(rf"case {case}\(message: String\)", source, re.IGNORECASE), case
    assert re.search(r"case untrustedCertificate\(message: String\)", source, re.IGNORECASE)
    assert (SWIFT / "rapport_ffiFFI.h").exists()
    assert "module rapport_ffiFFI" in (SWIFT / "rapport_ffiFFI.modulemap").read_text()
