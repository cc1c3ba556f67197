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
        # Refused edits do not fail a sync: the report counts them.
        r"(var|let) refusedEdits: UInt64",
        r"(var|let) refused: \[Rejection\]",
        # Live updates: Replica.watch with a LiveListener, stopped through its LiveWatch.
        r"func watch\(serverUrl: String, token: String, listener: LiveListener\)\s*throws\s*-> LiveWatch",
        r"public protocol LiveListener\b",
        r"func onUpdate\(update: LiveUpdate\)",
        r"func onStatus\(status: LiveStatus\)",
        r"open class LiveWatch\b",
        r"open func stop\(\)",
        r"open func pushNow\(\)",
        r"public struct LiveUpdate\b",
        r"(var|let) accounts: \[String\]",
        r"public enum LiveStatus\b",
        r"case reconnecting\(message: String, retryInMs: UInt64\s*\)",
        r"case failed\(error: RapportError\s*\)",
        # Errors carry their data.
        r"case RateLimited\(message: String, retryAfterMs: UInt64\?\s*\)",
        r"case ServerUnavailable\(message: String, retryAfterMs: UInt64\?\s*\)",
        r"case ServerStorageFull\(message: String, unsent: UInt64, retryAfterMs: UInt64\?\s*\)",
        r"public func whoami\(serverUrl: String, token: String, caCertPem: String\? = nil\)\s*async throws\s*-> TokenOwner",
    ]
    flat = re.sub(r"\s+", " ", source)
    missing = [p for p in expected if not re.search(p, source) and not re.search(p, flat)]
    assert missing == []
    for case in ["network", "unauthorized", "notPermitted", "invalidInput", "notFound", "merged", "server", "storage"]:
        assert re.search(rf"case {case}\(message: String\s*\)", source, re.IGNORECASE), case
    # A refused edit is in the sync's report, no longer an error.
    assert not re.search(r"case rejectedChange", source, re.IGNORECASE)
    assert re.search(r"case untrustedCertificate\(message: String\s*\)", source, re.IGNORECASE)
    assert (SWIFT / "rapport_ffiFFI.h").exists()
    assert "module rapport_ffiFFI" in (SWIFT / "rapport_ffiFFI.modulemap").read_text()
