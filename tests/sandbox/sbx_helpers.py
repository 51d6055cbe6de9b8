"""Shared constants for the sandbox tests (imported by name; tests/sandbox is on sys.path)."""

CREDS = {
    "court": "test-court-secret",
    "customs": "test-customs-secret",
    "police": "test-police-secret",
    "amr": "test-amr-secret",
    "finance": "test-finance-secret",
}
