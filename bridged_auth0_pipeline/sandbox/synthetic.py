"""Deterministic synthetic tenants with the awkward cases a sync must survive.

Everything derives from one seeded RNG and a fixed anchor time (not the wall clock), so
`generate(seed=s)` is identical across runs. Covered on purpose: every connection kind (database,
google, github with integer identity ids, SAML, Azure AD, SMS without email), linked accounts with
profileData, identity-provider tokens, accounts sharing a verified email in different case,
unverified emails, blocked and never-logged-in users, MFA, metadata with nesting, arrays, nulls,
unicode, dotted and quoted keys, empty or missing metadata, a bulk import sharing one updated_at,
deleted users (their `sdu` events and older events stay in the log), roles with members, and
tenant-level log events without a user.

Built for scale: user dicts are made directly (no per-user helper objects), constant nested values
are shared, and log events are created in date order after one sort.
"""

from __future__ import annotations

import hashlib
import random
import string
from datetime import datetime

from .clock import epoch_ms, iso_from_epoch_ms, parse_iso
from .gcpause import paused_gc
from .logevents import make_event
from .organizations import generate_organizations
from .tenant import SandboxTenant, emails_as_auth0_stores_them

DEFAULT_ANCHOR = "2026-10-01T00:00:00.000Z"
DAY_MS = 86_400_000
LOG_WINDOW_DAYS = 30

GIVEN = [("Ana", "ana"), ("José", "jose"), ("Zoë", "zoe"), ("Mei", "mei"), ("Hiroshi", "hiroshi"),
         ("Fatima", "fatima"), ("Noa", "noa"), ("Łukasz", "lukasz"), ("Søren", "soren"),
         ("Olúwaseun", "oluwaseun"), ("Priya", "priya"), ("Aisha", "aisha"), ("Liam", "liam"),
         ("Emma", "emma"), ("Mateo", "mateo"), ("Yuki", "yuki"), ("Omar", "omar"),
         ("Sofía", "sofia"), ("Ivan", "ivan"), ("李", "li"), ("محمد", "mohammed"),
         ("יעל", "yael"), ("Seán", "sean"), ("Chloé", "chloe")]
FAMILY = [("Smith", "smith"), ("García", "garcia"), ("Müller", "muller"), ("O'Brien", "obrien"),
          ("Nakamura", "nakamura"), ("Kowalski", "kowalski"), ("Cohen", "cohen"),
          ("Nguyen", "nguyen"), ("Okafor", "okafor"), ("Rossi", "rossi"), ("Dubois", "dubois"),
          ("Silva", "silva"), ("王", "wang"), ("حداد", "haddad"), ("לוי", "levi"),
          ("van der Berg", "vanderberg"), ("Ångström", "angstrom"), ("Patel", "patel")]
DOMAINS = ["example.com", "example.org", "mail.example.net", "inbox.example.com"]
COMPANIES = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "株式会社サンプル", "Ñandú S.A.",
             "שלום בע״מ"]
PLANS = ["free", "free", "free", "pro", "pro", "enterprise"]
ROLES = [("admin", "Full administrative access", 0.01),
         ("editor", "Can edit content", 0.05),
         ("viewer", "Read-only access", 0.30),
         ("billing", "Manages invoices and payment methods", 0.03),
         ("support", "Customer support agents", 0.02)]

# (kind, cumulative probability)
KINDS = [("auth0", 0.55), ("google", 0.75), ("github", 0.82), ("samlp", 0.88), ("waad", 0.93),
         ("sms", 1.0)]
USER_EVENT_TYPES = ["s"] * 45 + ["slo"] * 10 + ["fp"] * 6 + ["f"] * 4 + ["fu"] * 3 + \
    ["seacft"] * 5 + ["scp"] * 2 + ["fcp"] * 1 + ["sv"] * 2 + ["w"] * 1 + ["limit_wc"] * 1 + \
    ["gd_auth_succeed"] * 3 + ["gd_send_sms"] * 1 + ["gd_auth_failed"] * 1 + \
    ["gd_enrollment_complete"] * 1
NEVER_LOGGED_IN_TYPES = ["fp", "fu", "f", "sv", "w"]
TENANT_EVENT_TYPES = ["sapi", "sapi", "seccft", "seccft", "seccft", "api_limit", "feccft",
                      "depnote"]

# Shared, never mutated: awkward metadata that exercises JSON handling.
_WEIRD_USER_METADATA = {
    "display.name": "a key with a dot",
    'say "hi"': "a key with double quotes",
    "it's": "a key with an apostrophe",
    "emoji": "🦊🚀 party 🎉",
    "cjk": "日本語のテキストと中文",
    "rtl": "שלום עולם — مرحبا بالعالم",
    "nested": {"deeper": {"deepest": [1, 2.5, {"x": None}, "three"]}},
    "null_value": None,
    "empty_list": [],
    "empty_object": {},
    "bool": False,
    "big_number": 12345678901234567,
}
_PREFERENCES = [
    {"newsletter": True, "theme": "dark", "languages": ["en", "fr"]},
    {"newsletter": False, "theme": "light", "languages": ["he", "en"]},
    {"newsletter": None, "languages": []},
]


_ALNUM_TABLE = bytes((string.ascii_letters + string.digits).encode()[i % 62] for i in range(256))


def _alnum(rng: random.Random, n: int) -> str:
    """n random alphanumerics in one RNG call (randrange per character is too slow at 1M)."""
    return rng.getrandbits(8 * n).to_bytes(n, "little").translate(_ALNUM_TABLE).decode()


def _below(rng: random.Random, n: int) -> int:
    """Uniform int in [0, n): random() is several times cheaper than randrange()."""
    return int(rng.random() * n)


def _pick(rng: random.Random, seq):
    return seq[int(rng.random() * len(seq))]


def _digits(rng: random.Random, n: int) -> str:
    """An n-digit decimal string not starting with 0 (Google's 21-digit subject ids)."""
    return str(10 ** (n - 1) + rng.getrandbits(4 * n) % (9 * 10 ** (n - 1)))


def _user_metadata(rng: random.Random):
    r = rng.random()
    if r < 0.25:
        return None  # missing entirely
    if r < 0.38:
        return {}
    if r < 0.48:
        return _WEIRD_USER_METADATA
    meta = {"company": _pick(rng, COMPANIES),
            "preferences": _pick(rng, _PREFERENCES)}
    if rng.random() < 0.5:
        meta["job_title"] = rng.choice(["Engineer", "Designer", "CTO", "Sales", "Ops"])
    if rng.random() < 0.3:
        meta["tags"] = rng.sample(["vip", "beta", "churn-risk", "partner"], 2)
    if rng.random() < 0.2:
        meta["seats"] = 1 + _below(rng, 499)
    return meta


def _app_metadata(rng: random.Random, bulk: bool):
    if bulk:
        return {"source": "bulk-import", "plan": "free", "legacy_id": _below(rng, 10**6)}
    r = rng.random()
    if r < 0.2:
        return None
    if r < 0.3:
        return {}
    plan = _pick(rng, PLANS)
    meta: dict = {"plan": plan}
    if plan != "free":
        meta["billing"] = {"customer_id": "cus_" + _alnum(rng, 14),
                           "trial_ends_at": None if rng.random() < 0.5 else "2026-12-31"}
        meta["features"] = {"sso": plan == "enterprise", "seats": 1 + _below(rng, 199),
                            "beta.flags": ["new-ui"] if rng.random() < 0.3 else []}
    if rng.random() < 0.15:
        meta["company"] = _pick(rng, COMPANIES)
    return meta


def _gravatar(email: str, initials: str) -> str:
    digest = hashlib.md5(email.encode()).hexdigest()
    return (f"https://s.gravatar.com/avatar/{digest}?s=480&r=pg&d=https%3A%2F%2Fcdn.auth0.com"
            f"%2Favatars%2F{initials}.png")


def _make_user(rng: random.Random, i: int, anchor: int, bulk_ms: int | None,
               shared_emails: list[str]) -> tuple[dict, int, int | None]:
    """One user dict plus its created_at and last_login in epoch ms (for the log events)."""
    r = rng.random()
    kind = next(k for k, p in KINDS if r < p)
    given, given_a = _pick(rng, GIVEN)
    family, family_a = _pick(rng, FAMILY)
    domain = _pick(rng, DOMAINS)
    email = f"{given_a}.{family_a}{i}@{domain}"
    full_name = f"{given} {family}"
    initials = (given_a[0] + family_a[0])
    user: dict = {}

    if bulk_ms is not None:
        created = updated = bulk_ms
        last_login = None
    else:
        created = anchor - DAY_MS - _below(rng, 3 * 365 * DAY_MS)
        if rng.random() < 0.10:
            last_login = None
            updated = created + _below(rng, anchor - created)
        else:
            last_login = created + _below(rng, anchor - created)
            updated = last_login if rng.random() < 0.6 else \
                last_login + _below(rng, anchor - last_login + 1)

    if kind == "auth0":
        hex_id = "%024x" % rng.getrandbits(96)
        user_id = "auth0|" + hex_id
        user["email"] = email
        user["email_verified"] = rng.random() < 0.85
        if rng.random() < 0.15:
            user["username"] = f"{given_a}{family_a}{i}"
        if rng.random() < 0.6:
            user["name"] = full_name
            if rng.random() < 0.7:
                user["given_name"], user["family_name"] = given, family
        else:
            user["name"] = email
        user["nickname"] = email.split("@")[0]
        user["picture"] = _gravatar(email, initials)
        identities = [{"connection": "Username-Password-Authentication", "provider": "auth0",
                       "user_id": hex_id, "isSocial": False}]
        if user["email_verified"] and rng.random() < 0.1:
            shared_emails.append(email)
        if rng.random() < 0.08:
            linked = {"profileData": {"email": email, "email_verified": True, "name": full_name,
                                      "given_name": given, "family_name": family,
                                      "picture": f"https://lh3.googleusercontent.com/a/{_alnum(rng, 20)}=s96-c"},
                      "provider": "google-oauth2", "user_id": _digits(rng, 21),
                      "connection": "google-oauth2", "isSocial": True}
            if rng.random() < 0.5:
                linked["access_token"] = "ya29.a0" + _alnum(rng, 40)
            identities.append(linked)
            if rng.random() < 0.35:
                gh_id = 1 + _below(rng, 89_999_999)
                identities.append({
                    "profileData": {"name": full_name, "nickname": f"{given_a}-{family_a}",
                                    "email": email, "email_verified": True,
                                    "picture": f"https://avatars.githubusercontent.com/u/{gh_id}?v=4"},
                    "provider": "github", "user_id": gh_id, "connection": "github",
                    "isSocial": True})
    elif kind == "google":
        google_id = _digits(rng, 21)
        user_id = "google-oauth2|" + google_id
        if shared_emails and rng.random() < 0.25:
            base = shared_emails.pop()
            local, _, dom = base.partition("@")
            email = local[:1].upper() + local[1:] + "@" + dom.upper()  # same address, other case
        user["email"] = email
        user["email_verified"] = True
        user["name"] = full_name
        user["given_name"], user["family_name"] = given, family
        user["nickname"] = email.split("@")[0].lower()
        user["picture"] = f"https://lh3.googleusercontent.com/a/{_alnum(rng, 20)}=s96-c"
        identity = {"provider": "google-oauth2", "user_id": google_id,
                    "connection": "google-oauth2", "isSocial": True}
        if rng.random() < 0.4:
            identity["access_token"] = "ya29.a0" + _alnum(rng, 40)
            if rng.random() < 0.5:
                identity["refresh_token"] = "1//0" + _alnum(rng, 40)
        identities = [identity]
    elif kind == "github":
        gh_id = 1 + _below(rng, 89_999_999)
        user_id = f"github|{gh_id}"
        user["email"] = email
        user["email_verified"] = True
        user["name"] = full_name
        user["nickname"] = f"{given_a}-{family_a}"
        user["picture"] = f"https://avatars.githubusercontent.com/u/{gh_id}?v=4"
        identity = {"provider": "github", "user_id": gh_id, "connection": "github",
                    "isSocial": True}
        if rng.random() < 0.4:
            identity["access_token"] = "gho_" + _alnum(rng, 36)
        identities = [identity]
    elif kind == "samlp":
        email = f"{given_a}.{family_a}{i}@acme-corp.example"
        user_id = f"samlp|acme-saml|{email}"
        user["email"] = email
        user["email_verified"] = True
        user["name"] = full_name
        user["given_name"], user["family_name"] = given, family
        user["nickname"] = email.split("@")[0]
        user["picture"] = _gravatar(email, initials)
        identities = [{"user_id": f"acme-saml|{email}", "provider": "samlp",
                       "connection": "acme-saml", "isSocial": False}]
    elif kind == "waad":
        email = f"{given_a}.{family_a}{i}@contoso.example"
        oid = _alnum(rng, 43)
        user_id = f"waad|{oid}"
        user["email"] = email
        user["email_verified"] = rng.random() < 0.5
        user["name"] = full_name
        user["given_name"], user["family_name"] = given, family
        user["nickname"] = email.split("@")[0]
        user["picture"] = _gravatar(email, initials)
        identities = [{"user_id": oid, "provider": "waad", "connection": "contoso-waad",
                       "isSocial": False}]
    else:  # sms: a phone number and no email at all
        hex_id = "%024x" % rng.getrandbits(96)
        user_id = "sms|" + hex_id
        phone = rng.choice(("+1555", "+44770", "+97250")) + "%07d" % _below(rng, 10**7)
        user["phone_number"] = phone
        user["phone_verified"] = True
        user["name"] = phone
        user["nickname"] = phone
        user["picture"] = "https://cdn.auth0.com/avatars/default.png"
        identities = [{"user_id": hex_id, "provider": "sms", "connection": "sms",
                       "isSocial": False}]

    user["created_at"] = iso_from_epoch_ms(created)
    user["updated_at"] = iso_from_epoch_ms(updated)
    if last_login is None:
        user["logins_count"] = 0
    else:
        user["last_login"] = iso_from_epoch_ms(last_login)
        user["last_ip"] = f"203.0.113.{1 + _below(rng, 254)}"
        user["logins_count"] = 1 + _below(rng, 399)
    if rng.random() < 0.02:
        user["blocked"] = True
    if kind != "sms" and rng.random() < 0.08:
        user["multifactor"] = ["guardian"]
    user_meta = _user_metadata(rng)
    if user_meta is not None:
        user["user_metadata"] = user_meta
    app_meta = _app_metadata(rng, bulk_ms is not None)
    if app_meta is not None:
        user["app_metadata"] = app_meta
    user["identities"] = identities
    return {"user_id": user_id, **user}, created, last_login


def generate_tenant(users: int = 3000, seed: int = 7, shared_timestamp_users: int = 0,
                    logs_per_user: int = 2, anchor: str | datetime = DEFAULT_ANCHOR,
                    deleted_fraction: float = 0.005, organizations: int = 0) -> SandboxTenant:
    """Build a tenant with exactly `users` users (plus a few deleted ones visible in the logs).

    `anchor` is the tenant's "now" at generation: every generated timestamp lies before it, and
    log events fall in the 30 days before it. `organizations`: how many organizations to add (with
    members and member roles); 0 keeps the tenant exactly as it was before organizations existed.
    """
    with paused_gc():
        tenant = _generate(users, seed, shared_timestamp_users, logs_per_user, anchor, deleted_fraction)
    if organizations:
        generate_organizations(tenant, organizations, random.Random(seed + 16))  # own stream: users unchanged
    return tenant


def _generate(users: int, seed: int, shared_timestamp_users: int, logs_per_user: int,
              anchor: str | datetime, deleted_fraction: float) -> SandboxTenant:
    rng = random.Random(seed)
    tenant = SandboxTenant(seed=seed + 1_000_003)  # own stream for ids it mints
    anchor_ms = epoch_ms(parse_iso(anchor) if isinstance(anchor, str) else anchor)
    bulk_ms = anchor_ms - 200 * DAY_MS + 123  # one bulk import, one shared updated_at
    shared_timestamp_users = min(shared_timestamp_users, users)
    deleted = int(users * deleted_fraction) if users else 0
    store = tenant.users
    shared_emails: list[str] = []
    made: list[tuple[dict, int, int | None]] = []
    i = 0
    while len(made) < users + deleted:
        user, created, last_login = _make_user(rng, i, anchor_ms, bulk_ms if i < shared_timestamp_users else None,
                             shared_emails)
        i += 1
        if user["user_id"] in store:  # vanishingly rare id collision: draw again
            continue
        store[user["user_id"]] = emails_as_auth0_stores_them(user)  # as add_user would store it
        made.append((user, created, last_login))

    # Log events: (date_ms, order, type, user) sorted by time, then given ids in that order.
    window_start = anchor_ms - LOG_WINDOW_DAYS * DAY_MS
    first_gone = len(made) - deleted
    specs: list[tuple[int, int, str, dict | None]] = []
    for n, (user, created, ll_ms) in enumerate(made):
        # Deleted users: deleted during the last day, and no events after that.
        until = anchor_ms - _below(rng, DAY_MS) if n >= first_gone else anchor_ms
        if logs_per_user > 0:
            start = max(window_start, created)
            if created >= window_start:
                specs.append((created, len(specs), "ss", user))
            active = ll_ms is not None and ll_ms >= start
            if active:
                specs.append((ll_ms, len(specs), "s", user))
            for _ in range(_below(rng, 2 * logs_per_user + 1)):
                if active:
                    type_ = _pick(rng, USER_EVENT_TYPES)
                    # Logins never come after last_login; other events may.
                    end = ll_ms if type_ == "s" else until
                else:  # no login inside the window: only failures and the like
                    type_ = _pick(rng, NEVER_LOGGED_IN_TYPES)
                    end = until
                if end >= start:
                    specs.append((start + _below(rng, end - start + 1), len(specs), type_, user))
        if n >= first_gone:
            specs.append((until + 1, len(specs), "sdu", user))
    if logs_per_user > 0:
        for _ in range(max(1, len(specs) // 20)):
            specs.append((window_start + _below(rng, anchor_ms - window_start), len(specs),
                          _pick(rng, TENANT_EVENT_TYPES), None))
    gone = [user for user, _, _ in made[first_gone:]]
    specs.sort(key=lambda s: (s[0], s[1]))
    for date_ms, _, type_, user in specs:
        connection = tenant.connection_for_user(user) if user is not None else None
        event = make_event(type_, iso_from_epoch_ms(date_ms), date_ms, rng,
                           tenant_name=tenant.name, user=user, connection=connection)
        tenant._push_log(event, date_ms)

    for user in gone:
        del store[user["user_id"]]

    for name, description, share in ROLES:
        role = tenant.create_role_silently(name, description)
        members = [uid for uid in store if rng.random() < share]
        tenant.role_members[role["id"]] = sorted(members)

    tenant.user_index.bind(store)
    tenant.log_index.bind(tenant.logs)
    tenant.users_version += 1
    return tenant
