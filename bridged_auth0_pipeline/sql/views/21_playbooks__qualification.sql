-- playbooks.qualification — transparent lead score from identity links and metadata (guide: "Read
-- user metadata and identity provider links for lead scoring").
-- Grain: one row per live user; key user_id. score is the plain sum of the *_points columns, so
-- every point can be traced to one column; tier buckets the score.
-- Metadata is read from auth0.user_metadata (one row per top-level key), matching key names
-- loosely (case, '_', '-' and spaces ignored: company_name = companyName = "Company Name"), so the
-- view works whatever names a customer's Auth0 rules chose.
-- Organization signals (B2B): the user's main organization (auth0.organizations, live ones only) —
-- the one with most members active in the window, then most members, then by name — its live
-- members, those active in the window, and the user's roles in it.
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
        -- member of an Auth0 organization: the user's company is a customer account
        20 AS organization_points,
        -- holds a role within that organization (e.g. its admin or buyer)
        10 AS organization_role_points,
        -- that organization has at least active_organization_min_members members who logged in
        -- within active_member_days: a team actually using the product
        10 AS active_organization_points,
        3 AS active_organization_min_members,
        30 AS active_member_days,
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

memberships AS (
    SELECT m.org_id, m.user_id, o.name AS organization_name
    FROM auth0.organization_members AS m
    JOIN auth0.organizations AS o ON o.org_id = m.org_id AND o.deleted_at IS NULL
    -- only while the last run synced the data object organizations: rows kept from before it was
    -- turned off are not current (auth0._sync_state 'data_objects', written by each run's users load)
    WHERE list_contains((SELECT CAST(details -> 'data_objects' AS VARCHAR[]) FROM auth0._sync_state
                         WHERE stream = 'data_objects'), 'organizations')
),

-- live members only: auth0.user_auth_methods holds live users
organization_facts AS (
    SELECT
        ms.org_id,
        count(*) AS members,
        count(*) FILTER (WHERE a.last_login_at >= current_timestamp - to_hours(24 * t.active_member_days)) AS active_members
    FROM memberships AS ms
    JOIN auth0.user_auth_methods AS a USING (user_id)
    CROSS JOIN thresholds AS t
    GROUP BY ms.org_id
),

member_roles AS (
    SELECT r.org_id, r.user_id, list_sort(list(DISTINCT coalesce(ro.name, r.role_id))) AS roles
    FROM auth0.organization_member_roles AS r
    LEFT JOIN auth0.roles AS ro ON ro.id = r.role_id
    GROUP BY r.org_id, r.user_id
),

user_organizations AS (
    SELECT
        ms.user_id,
        ms.org_id,
        ms.organization_name,
        f.members,
        f.active_members,
        coalesce(mr.roles, []) AS roles,
        count(*) OVER (PARTITION BY ms.user_id) AS organization_count
    FROM memberships AS ms
    JOIN organization_facts AS f USING (org_id)
    LEFT JOIN member_roles AS mr USING (org_id, user_id)
    QUALIFY row_number() OVER (PARTITION BY ms.user_id
                               ORDER BY f.active_members DESC, f.members DESC, ms.organization_name, ms.org_id) = 1
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
        CASE WHEN c.company IS NOT NULL THEN t.company_points ELSE 0 END AS company_points,
        o.org_id AS organization_id,
        o.organization_name,
        coalesce(o.organization_count, 0) AS organization_count,
        coalesce(o.members, 0) AS organization_members,
        coalesce(o.active_members, 0) AS organization_active_members,
        coalesce(o.roles, []) AS organization_roles,
        CASE WHEN o.org_id IS NOT NULL THEN t.organization_points ELSE 0 END AS organization_points,
        CASE WHEN len(o.roles) > 0 THEN t.organization_role_points ELSE 0 END AS organization_role_points,
        CASE WHEN o.active_members >= t.active_organization_min_members THEN t.active_organization_points ELSE 0 END
            AS active_organization_points
    FROM user_facts AS u
    CROSS JOIN thresholds AS t
    LEFT JOIN plans AS p USING (user_id)
    LEFT JOIN companies AS c USING (user_id)
    LEFT JOIN user_organizations AS o USING (user_id)
),

scored AS (
    SELECT
        *,
        enterprise_idp_points + company_email_points + linked_identity_points + plan_points + company_points
            + organization_points + organization_role_points + active_organization_points AS score
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
