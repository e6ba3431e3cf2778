"""`bridged-auth0 user <user_id | email>` run as a real process against a sandbox tenant.

The tenant is the hand-made one of test_playbooks_end_to_end.py, so the live answer can be read
next to the rows auth0.user_auth_methods gives for the same users. Expected outputs are written
out by hand. Every run checks that neither stdout nor stderr contains the client secret.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from bridged_auth0_pipeline.sandbox import SandboxServer
from bridged_auth0_pipeline.sandbox.server import DEFAULT_SCOPES
from bridged_auth0_pipeline_tests.helpers import SECRET, query
from bridged_auth0_pipeline_tests.views.test_playbooks_end_to_end import (
    ANN,
    ANN_DB_LOGIN,
    DANA_DB,
    DANA_DEL,
    DANA_G,
    DANA_GH,
    GUS,
    GUS_LOGIN,
    JANE,
    JANE_LOGIN,
    PIA,
    PIA_LAST_LOGIN,
    ago,
    build_tenant,
    identity,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
USER_ID_FORMAT = "provider|id, e.g. auth0|507f1f77bcf86cd799439020 or google-oauth2|103547991597142817347"
# A GitHub account whose address keeps its case and has a quoted local part holding a backslash
QUINN, QUINN_EMAIL = "github|1099", '"Quinn\\Q"@Acme.io'
# read:connections is optional: the CLI types identities by their connection when it is granted
WITH_CONNECTIONS = (*DEFAULT_SCOPES, "read:connections")


def cli_command() -> list[str]:
    script = Path(sys.executable).with_name("bridged-auth0")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bridged_auth0_pipeline.cli"]


@pytest.fixture(scope="module")
def server():
    tenant = build_tenant()
    tenant.delete_user(DANA_DEL)
    tenant.add_user({"user_id": QUINN, "identities": [identity("github", 1099, "github", True)],
                     "email": QUINN_EMAIL, "email_verified": True, "name": "Quinn Quoted"})
    with SandboxServer(tenant, client_secret=SECRET, scopes=WITH_CONNECTIONS) as running:
        yield running


def run_cli(server: SandboxServer, *args: str, secret: str = SECRET) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH0_", "BRIDGED_"))}
    env.update(AUTH0_DOMAIN=server.base_url, AUTH0_CLIENT_ID=server.client_id, AUTH0_CLIENT_SECRET=secret,
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")])))
    result = subprocess.run([*cli_command(), "user", *args], env=env, cwd=REPO_ROOT, capture_output=True,
                            text=True, timeout=60)
    assert secret not in result.stdout + result.stderr, "the client secret was printed"
    return result


def stamp(moment: datetime) -> str:
    return f"{moment.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC"


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_by_id_a_social_user_with_a_linked_database_identity(server):
    result = run_cli(server, ANN)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == "\n".join([
        "Ann Linked signs in with Google and can also use Email and password.",
        f"  User id         {ANN}",
        "  Email           ann@gmail.com (verified)",
        "  Signs in with   Google (social login, connection google-oauth2), the primary identity",
        "  Also linked     Email and password (database, connection Username-Password-Authentication)",
        f"  Last login      {stamp(ANN_DB_LOGIN)}, 1 day ago, 40 logins in total",
        "  Last login via  Email and password (database, connection Username-Password-Authentication)",
        "  MFA             enrolled (guardian)",
    ]) + "\n"


def test_by_id_an_enterprise_id_containing_an_email(server):
    # samlp|acme-saml|jane@acme.io has an '@' but is an id; MFA only shows in the log events
    result = run_cli(server, f"  {JANE} ")
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == "\n".join([
        "Jane Enterprise signs in with SAML single sign-on.",
        f"  User id         {JANE}",
        "  Email           jane@acme.io (verified)",
        "  Signs in with   SAML single sign-on (enterprise SSO, connection acme-saml), the primary identity",
        f"  Last login      {stamp(JANE_LOGIN)}, 3 days ago, 5 logins in total",
        "  Last login via  SAML single sign-on (enterprise SSO, connection acme-saml)",
        "  MFA             enrolled (seen in the MFA log events; the profile lists no factor)",
    ]) + "\n"


def test_by_email_lists_every_account_sharing_it(server):
    # typed in upper case; Dana's four accounts include a blocked one, an unverified one and a deleted one
    result = run_cli(server, "DANA@ACME.IO")
    assert (result.returncode, result.stderr) == (0, "")
    blocks = result.stdout.rstrip("\n").split("\n\n")
    assert blocks[0] == ("3 separate Auth0 accounts use DANA@ACME.IO (2 with the email verified; accounts sharing "
                         "a verified email can be linked):")
    assert [block.splitlines()[1] for block in blocks[1:]] == [
        f"  User id         {DANA_DB}", f"  User id         {DANA_GH}", f"  User id         {DANA_G}"]
    assert blocks[2] == "\n".join([
        "Dana GitHub signs in with GitHub.",
        f"  User id         {DANA_GH}",
        "  Email           DANA@acme.io (NOT verified)",
        "  Signs in with   GitHub (social login, connection github), the primary identity",
        "  Last login      never",
        "  MFA             not enrolled",
    ])
    assert blocks[3].endswith(
        "  Blocked         yes: the user cannot log in until an administrator unblocks the account")
    # Dana's database account logged in 40 days ago, before the log history the tenant keeps
    assert blocks[1].splitlines()[-1] == (
        "  Note            no login event in the recent log history (Auth0 keeps logs 1 to 30 days, by plan)")


def test_by_email_finds_an_account_only_the_search_can_with_quotes_and_backslash_in_it(server):
    # /users-by-email is case-sensitive: only the user search finds "Quinn\Q"@Acme.io for a lower-case
    # address, and only when the address is escaped as a Lucene phrase
    result = run_cli(server, QUINN_EMAIL.lower())
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines()[:3] == [
        "Quinn Quoted signs in with GitHub.", f"  User id         {QUINN}", f"  Email           {QUINN_EMAIL} (verified)"]


def test_json_by_id(server):
    # Pia's profile last_login is newer than her latest login event, which went through Google
    result = run_cli(server, PIA, "--json")
    assert (result.returncode, result.stderr) == (0, "")
    database = {"provider": "auth0", "connection": "Username-Password-Authentication", "type": "database",
                "label": "Email and password"}
    google = {"provider": "google-oauth2", "connection": "google-oauth2", "type": "social", "label": "Google"}
    assert json.loads(result.stdout) == {
        "user_id": PIA,
        "name": "Pia Dormant",
        "email": "pia@example.com",
        "email_verified": True,
        "phone_number": None,
        "primary_method": {**database, "primary": True},
        "methods": [{**database, "primary": True}, {**google, "primary": False}],
        "last_login": iso(PIA_LAST_LOGIN),
        "last_login_method": {**google, "at": iso(ago(days=60, hours=2))},
        "logins_count": 30,
        "mfa_enrolled": False,
        "mfa_factors": [],
        "mfa_evidence": None,
        "blocked": False,
        "notes": [],
    }


def test_json_by_email_is_always_a_list(server):
    result = run_cli(server, "gus@startup.dev", "--json")
    assert (result.returncode, result.stderr) == (0, "")
    github = {"provider": "github", "connection": "github", "type": "social", "label": "GitHub"}
    assert json.loads(result.stdout) == [{
        "user_id": GUS,
        "name": "Gus GitHub",
        "email": "gus@startup.dev",
        "email_verified": True,
        "phone_number": None,
        "primary_method": {**github, "primary": True},
        "methods": [{**github, "primary": True}],
        "last_login": iso(GUS_LOGIN),
        "last_login_method": {**github, "at": iso(GUS_LOGIN)},
        "logins_count": 1,
        "mfa_enrolled": False,
        "mfa_factors": [],
        "mfa_evidence": None,
        "blocked": False,
        "notes": [],
    }]

    result = run_cli(server, "dana@acme.io", "--json")
    assert result.returncode == 0
    assert [(a["user_id"], a["email_verified"], a["blocked"], a["primary_method"]["type"])
            for a in json.loads(result.stdout)] == [
        (DANA_DB, True, False, "database"), (DANA_GH, False, False, "social"), (DANA_G, True, True, "social")]


def test_unknown_user_id_is_a_404_naming_the_id_format(server):
    result = run_cli(server, "auth0|000000000000000000000000")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "error: User not found (404): no Auth0 user has the id 'auth0|000000000000000000000000'. The id is the "
        f"whole provider|id, case-sensitive. Use correct format: {USER_ID_FORMAT}; or look the user up by email.\n")


def test_unknown_email(server):
    result = run_cli(server, "nobody@example.com")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.startswith("error: User not found: no Auth0 account has the email 'nobody@example.com'.")


def test_malformed_id_is_refused_before_any_request(server):
    before = len(server.requests)
    result = run_cli(server, "103547991597142817347")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        "error: Wrong user ID format: '103547991597142817347' is neither an email address nor an Auth0 user id. "
        f"Use correct format: {USER_ID_FORMAT}.\n")
    assert len(server.requests) == before


def test_id_auth0_refuses_is_a_wrong_format_error(server):
    # 'auth0|' has a '|' but no id: the Management API answers 400 invalid_uri
    result = run_cli(server, "auth0|")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith("error: Wrong user ID format: Auth0 refused 'auth0|'. Bad request (400 on GET ")
    assert "[invalid_uri]" in result.stderr
    assert result.stderr.endswith(f"Use correct format: {USER_ID_FORMAT}.\n")


def test_wrong_secret_is_a_401_without_the_secret(server):
    wrong = "wrong-secret-0xDEADBEEF"
    result = run_cli(server, ANN, secret=wrong)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith("error: Connection fails (401")
    assert "AUTH0_CLIENT_SECRET" in result.stderr and wrong not in result.stderr


# An enterprise (SAML) identity that does not say whether it is social: auth0.user_auth_methods
# types it by its connection's strategy when the sync could read the connections, else leaves it
# without a type; the CLI must answer the same, and say why when it cannot type it.
NOEL = "samlp|acme-saml|noel@acme.io"
NOT_READ = ("the connections could not be read (the application lacks the read:connections scope), so an identity "
            "that does not say whether it is social has no type: grant read:connections to type it by its "
            "connection's strategy")


@pytest.mark.parametrize(("scopes", "kind", "words", "notes"), [
    (WITH_CONNECTIONS, "enterprise", "enterprise SSO", []),
    (DEFAULT_SCOPES, None, "type unknown", [NOT_READ]),
], ids=["read:connections", "without read:connections"])
def test_the_cli_and_the_view_type_an_identity_without_isSocial_alike(
        sandbox_factory, pipeline_env, run_sync, warehouse_path, scopes, kind, words, notes):
    tenant = build_tenant()
    tenant.add_user({"user_id": NOEL, "email": "noel@acme.io", "email_verified": True, "name": "Noel NoFlag",
                     "identities": [{"provider": "samlp", "user_id": "acme-saml|noel@acme.io", "connection": "acme-saml"}]})
    server = sandbox_factory(tenant, scopes=scopes)
    pipeline_env(server)
    assert run_sync().success
    assert query(warehouse_path, "SELECT primary_method_type, linked_method_types FROM auth0.user_auth_methods "
                                 "WHERE user_id = ?", [NOEL]) == [(kind, [kind] if kind else [])]

    result = run_cli(server, NOEL, "--json")
    assert (result.returncode, result.stderr) == (0, "")
    answer = json.loads(result.stdout)
    assert (answer["primary_method"]["type"], answer["notes"]) == (kind, notes)
    result = run_cli(server, NOEL)
    assert f"  Signs in with   SAML single sign-on ({words}, connection acme-saml), the primary identity" in result.stdout
    assert result.stdout.endswith("".join(f"  Note            {note}\n" for note in notes) or "  MFA             not enrolled\n")
