-- playbooks.qualification — transparent lead score from identity links and metadata (guide: "Read
-- user metadata and identity provider links for lead scoring").
-- Grain: one row per live user; key user_id. score is the plain sum of the *_points columns, so
-- every point can be traced to one column; tier buckets the score.
-- Metadata is read from auth0.user_metadata (one row per top-level key), matching key names
-- loosely (case, '_', '-' and spaces ignored: company_name = companyName = "Company Name"), so the
-- view works whatever names a customer's Auth0 rules chose.
CREATE OR REPLACE VIEW playbooks.qualification AS
WITH thresholds AS (
    SELECT
        -- an enterprise IdP identity (SAML, Azure AD, ADFS, OIDC, Okta, ...): a company set up SSO
        30 AS enterprise_idp_points,
        -- verified email on a domain that is not in free_mail_domains: a work address
        20 AS company_email_points,
        -- more than one identity: the user came back through a second login method
        10 AS linked_identity_points,
        -- app_metadata names a plan (any plan, e.g. free or trial) ...
        10 AS plan_points,
        -- ... or one of premium_plans (case-insensitive); replaces plan_points, not added to it
        20 AS premium_plan_points,
        ['pro', 'professional', 'business', 'enterprise'] AS premium_plans,
        -- a company / organization name in app_metadata or user_metadata
        10 AS company_points,
        -- tiers: score >= hot_min_score is hot, >= warm_min_score warm, anything lower cold
        50 AS hot_min_score,
        30 AS warm_min_score,
        -- metadata keys, normalized (lower case, only letters and digits), in order of preference.
        -- The plan is read from app_metadata only: users can edit their own user_metadata.
        ['plan', 'planname', 'subscriptionplan', 'pricingplan'] AS plan_keys,
        ['company', 'companyname', 'organization', 'organizationname', 'organisation', 'organisationname'] AS company_keys,
        -- consumer mailbox providers: an address there says nothing about an employer
        [
            'gmail.com', 'googlemail.com',
            'yahoo.com', 'yahoo.co.uk', 'yahoo.fr', 'ymail.com', 'rocketmail.com',
            'hotmail.com', 'hotmail.co.uk', 'hotmail.fr', 'outlook.com', 'live.com', 'msn.com',
            'icloud.com', 'me.com', 'mac.com',
            'aol.com', 'gmx.com', 'gmx.de', 'gmx.net', 'web.de', 'mail.com',
            'proton.me', 'protonmail.com', 'tutanota.com', 'fastmail.com', 'hey.com', 'zoho.com',
            'yandex.com', 'yandex.ru', 'mail.ru', 'qq.com', '163.com', '126.com'
        ] AS free_mail_domains
),

user_facts AS (
    SELECT
        user_id,
        email,
        email_verified,
        nullif(regexp_extract(lower(trim(email)), '@([^@]+)$', 1), '') AS email_domain,
        list_contains(linked_method_types, 'enterprise') AS has_enterprise_idp,
        linked_identity_count
    FROM auth0.user_auth_methods   -- live users only
),

-- metadata values as text: JSON strings as they are, objects by their "name" member
-- (e.g. {"name": "Pro", "id": "plan_123"}); numbers, booleans, arrays, null and blanks are ignored
metadata_text AS (
    SELECT
        user_id,
        source,
        lower(regexp_replace(key, '[^A-Za-z0-9]', '', 'g')) AS normalized_key,
        nullif(trim(CASE json_type(value)
            WHEN 'VARCHAR' THEN value ->> '$'
            WHEN 'OBJECT' THEN value ->> '$.name'
        END), '') AS text_value
    FROM auth0.user_metadata
),

plans AS (
    SELECT
        m.user_id,
        first(m.text_value ORDER BY list_position(t.plan_keys, m.normalized_key), m.text_value) AS plan
    FROM metadata_text AS m
    CROSS JOIN thresholds AS t
    WHERE m.source = 'app_metadata'
      AND list_contains(t.plan_keys, m.normalized_key)
      AND m.text_value IS NOT NULL
    GROUP BY m.user_id
),

companies AS (
    SELECT
        m.user_id,
        -- app_metadata first: it is set by the customer's backend, user_metadata by the user
        first(m.text_value ORDER BY (m.source = 'app_metadata') DESC,
                                    list_position(t.company_keys, m.normalized_key),
                                    m.text_value) AS company
    FROM metadata_text AS m
    CROSS JOIN thresholds AS t
    WHERE m.source IN ('app_metadata', 'user_metadata')
      AND list_contains(t.company_keys, m.normalized_key)
      AND m.text_value IS NOT NULL
    GROUP BY m.user_id
),

points AS (
    SELECT
        u.user_id,
        u.email,
        u.email_domain,
        CASE WHEN u.has_enterprise_idp THEN t.enterprise_idp_points ELSE 0 END AS enterprise_idp_points,
        CASE
            WHEN coalesce(u.email_verified, false)
             AND u.email_domain IS NOT NULL
             AND NOT list_contains(t.free_mail_domains, u.email_domain)
            THEN t.company_email_points ELSE 0
        END AS company_email_points,
        CASE WHEN u.linked_identity_count > 1 THEN t.linked_identity_points ELSE 0 END AS linked_identity_points,
        p.plan,
        CASE
            WHEN list_contains(t.premium_plans, lower(p.plan)) THEN t.premium_plan_points
            WHEN p.plan IS NOT NULL THEN t.plan_points
            ELSE 0
        END AS plan_points,
        c.company,
        CASE WHEN c.company IS NOT NULL THEN t.company_points ELSE 0 END AS company_points
    FROM user_facts AS u
    CROSS JOIN thresholds AS t
    LEFT JOIN plans AS p USING (user_id)
    LEFT JOIN companies AS c USING (user_id)
),

scored AS (
    SELECT
        *,
        enterprise_idp_points + company_email_points + linked_identity_points + plan_points + company_points AS score
    FROM points
)

SELECT
    s.*,
    CASE
        WHEN s.score >= t.hot_min_score THEN 'hot'
        WHEN s.score >= t.warm_min_score THEN 'warm'
        ELSE 'cold'
    END AS tier
FROM scored AS s
CROSS JOIN thresholds AS t
