"""Schemathesis hooks for scripts/test-api.sh.

They state, for schema-valid (positive) cases only, the rules of the API
that an OpenAPI description cannot express, so that positive data really is
valid and every check keeps its full strength on everything else:

* `team` and `rep` filters, and a user's `teams`, must name a team or user
  that exists: the server answers 400 naming the parameter otherwise. The
  seeding in test-api.sh creates team `east` and users `ana` and `mona`.
* a report period's `from` must not be after its `to` (400 otherwise).
* `GET /v1/reports/deals`: `key` is required for `by=stage`, `forecast` and
  `moved` (non-empty) and `to_stage` for `by=moved` only (400 otherwise).
* revoking the device whose token the run uses would leave every later
  request 401: its id (ADMIN_DEVICE, set by test-api.sh) is never revoked.

Negative cases are left exactly as generated.
"""

import os

import schemathesis

TEAMS = ["east"]
USERS = ["ana", "mona"]
ADMIN_DEVICE = int(os.environ["ADMIN_DEVICE"])
SPARE_DEVICE = int(os.environ["SPARE_DEVICE"])


def _positive(case):
    meta = case.meta
    return meta is not None and meta.generation.mode.is_positive


@schemathesis.hook
def map_case(context, case):
    path = case.path_parameters
    if case.path.endswith("/revoke") and isinstance(path, dict) and str(path.get("id")) == str(ADMIN_DEVICE):
        path["id"] = SPARE_DEVICE
    if not _positive(case):
        return case
    query = case.query
    if isinstance(query, dict):
        if "team" in query:
            query["team"] = TEAMS[0]
        if "rep" in query:
            query["rep"] = USERS[len(str(query["rep"])) % len(USERS)]
        if case.path == "/v1/reports/deals" and "by" in query:
            by = query["by"]
            if by in ("stage", "forecast", "moved") and not str(query.get("key") or "").strip():
                query["key"] = "proposal"
            if by == "moved":
                query.setdefault("to_stage", "won")
            else:
                query.pop("to_stage", None)
        start, end = query.get("from"), query.get("to")
        if isinstance(start, str) and isinstance(end, str) and start > end:
            query["from"], query["to"] = end, start
    body = case.body
    if isinstance(body, dict) and isinstance(body.get("teams"), list):
        body["teams"] = TEAMS[: min(len(body["teams"]), len(TEAMS))]
    return case
