"""Versioned migrations of the directory database, written once for SQLite and PostgreSQL
(see `swissbox.store.migrations`); `Database.migrate` brings any store to the newest."""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: the domain model of DESIGN.md.
    """
    CREATE TABLE orgs (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        created INTEGER NOT NULL
    );
    CREATE TABLE accounts (
        id INTEGER PRIMARY KEY,
        login TEXT NOT NULL UNIQUE,
        display_name TEXT NOT NULL DEFAULT '',
        phone TEXT NOT NULL DEFAULT '',
        password_hash TEXT NOT NULL,
        created INTEGER NOT NULL,
        updated INTEGER NOT NULL
    );
    CREATE TABLE memberships (
        org_id INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
        account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('legal', 'admin', 'collaborator', 'external')),
        private INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (org_id, account_id)
    );
    CREATE TABLE teams (
        id INTEGER PRIMARY KEY,
        org_id INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
        name TEXT NOT NULL COLLATE NOCASE,
        UNIQUE (org_id, name)
    );
    CREATE TABLE team_members (
        team_id INTEGER NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
        account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        PRIMARY KEY (team_id, account_id)
    );
    CREATE TABLE domains (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        org_id INTEGER NOT NULL REFERENCES orgs(id) ON DELETE RESTRICT,
        serial INTEGER NOT NULL,
        soa_mname TEXT NOT NULL,
        soa_rname TEXT NOT NULL,
        soa_refresh INTEGER NOT NULL DEFAULT 3600,
        soa_retry INTEGER NOT NULL DEFAULT 600,
        soa_expire INTEGER NOT NULL DEFAULT 1209600,
        soa_minimum INTEGER NOT NULL DEFAULT 300,
        default_ttl INTEGER NOT NULL DEFAULT 3600,
        created INTEGER NOT NULL
    );
    -- DNS records of hosted zones, in presentation form, name absolute, lower case, no final dot.
    CREATE TABLE records (
        id INTEGER PRIMARY KEY,
        domain_id INTEGER NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        type TEXT NOT NULL,
        ttl INTEGER NOT NULL,
        rdata TEXT NOT NULL,
        UNIQUE (domain_id, name, type, rdata)
    );
    CREATE INDEX records_by_name ON records (domain_id, name);
    CREATE TABLE email_services (
        domain_id INTEGER PRIMARY KEY REFERENCES domains(id) ON DELETE CASCADE,
        max_addresses INTEGER,
        created INTEGER NOT NULL
    );
    CREATE TABLE mailboxes (
        id INTEGER PRIMARY KEY,
        domain_id INTEGER NOT NULL REFERENCES email_services(domain_id) ON DELETE RESTRICT,
        local_part TEXT NOT NULL COLLATE NOCASE,
        password_hash TEXT NOT NULL,
        quota_bytes INTEGER,
        created INTEGER NOT NULL,
        UNIQUE (domain_id, local_part)
    );
    CREATE TABLE mailbox_grants (
        mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
        account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        PRIMARY KEY (mailbox_id, account_id)
    );
    CREATE TABLE ddns_users (
        id INTEGER PRIMARY KEY,
        username TEXT NOT NULL UNIQUE COLLATE NOCASE,
        password_hash TEXT NOT NULL,
        owner_account_id INTEGER REFERENCES accounts(id) ON DELETE SET NULL,
        created INTEGER NOT NULL
    );
    CREATE TABLE ddns_hosts (
        id INTEGER PRIMARY KEY,
        hostname TEXT NOT NULL UNIQUE,
        domain_id INTEGER NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
        user_id INTEGER NOT NULL REFERENCES ddns_users(id) ON DELETE CASCADE,
        offline INTEGER NOT NULL DEFAULT 0,
        updated INTEGER
    );
    CREATE TABLE tsig_keys (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        algorithm TEXT NOT NULL DEFAULT 'hmac-sha256',
        secret TEXT NOT NULL,
        domain_id INTEGER NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
        name_pattern TEXT NOT NULL DEFAULT '',
        created INTEGER NOT NULL
    );
    """,
    # 2: several users of one address. Each grant says what the account may do with the
    # mailbox: 'full' (read and change its folders, send as it), 'read' (read its folders), or
    # 'own' (the account's own mailbox: its password stands for the account, see
    # Directory.usable_mailboxes). At most one explicit owner per mailbox; an account whose
    # login is the address owns it implicitly when no other account is its explicit owner.
    """
    ALTER TABLE mailbox_grants ADD COLUMN access TEXT NOT NULL DEFAULT 'full'
        CHECK (access IN ('own', 'full', 'read'));
    CREATE UNIQUE INDEX mailbox_grants_one_owner ON mailbox_grants (mailbox_id)
        WHERE access = 'own';
    CREATE INDEX mailbox_grants_by_account ON mailbox_grants (account_id);
    """,
    # 3: login lockouts shared by every front end (auth.ratelimit's LockBoard): a key naming
    # what is locked, the fingerprint of the secret it was decided against, the end (epoch).
    """
    CREATE TABLE auth_locks (
        key TEXT PRIMARY KEY,
        tag TEXT NOT NULL DEFAULT '',
        until_time REAL NOT NULL
    );
    """,
    # 4: DKIM keys of mail domains (swissbox.directory.dkim): selector, public key, and the
    # dates of its life (epoch seconds). The private keys are files in the data folder.
    """
    CREATE TABLE dkim_keys (
        id INTEGER PRIMARY KEY,
        domain_id INTEGER NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
        selector TEXT NOT NULL,
        algorithm TEXT NOT NULL CHECK (algorithm IN ('ed25519', 'rsa')),
        public_key TEXT NOT NULL,
        created INTEGER NOT NULL,
        sign_from INTEGER NOT NULL,
        confirmed INTEGER,
        retired INTEGER,
        withdraw_at INTEGER,
        withdrawn INTEGER,
        UNIQUE (domain_id, selector)
    );
    """,
    # 5: addresses that are not mailboxes (swissbox.directory.aliases): aliases and their
    # targets (hosted or external addresses, resolved at delivery), a mailbox's forward, a
    # mail domain's catch-all, and domain aliases (same local parts at another mail domain).
    """
    CREATE TABLE aliases (
        id INTEGER PRIMARY KEY,
        domain_id INTEGER NOT NULL REFERENCES email_services(domain_id) ON DELETE CASCADE,
        local_part TEXT NOT NULL COLLATE NOCASE,
        send_as INTEGER NOT NULL DEFAULT 1,
        created INTEGER NOT NULL,
        UNIQUE (domain_id, local_part)
    );
    CREATE TABLE alias_targets (
        alias_id INTEGER NOT NULL REFERENCES aliases(id) ON DELETE CASCADE,
        target TEXT NOT NULL COLLATE NOCASE,
        PRIMARY KEY (alias_id, target)
    );
    CREATE TABLE mailbox_forwards (
        mailbox_id INTEGER PRIMARY KEY REFERENCES mailboxes(id) ON DELETE CASCADE,
        target TEXT NOT NULL,
        keep INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE catch_alls (
        domain_id INTEGER PRIMARY KEY REFERENCES email_services(domain_id) ON DELETE CASCADE,
        target TEXT NOT NULL
    );
    CREATE TABLE domain_aliases (
        domain_id INTEGER PRIMARY KEY REFERENCES email_services(domain_id) ON DELETE CASCADE,
        target_id INTEGER NOT NULL REFERENCES email_services(domain_id) ON DELETE CASCADE
    );
    CREATE INDEX domain_aliases_by_target ON domain_aliases (target_id);
    """,
    # 6: Sieve (swissbox.directory.sievescripts): each mailbox's scripts (at most one active,
    # run at delivery) and the vacation replies sent (per script handle and sender, RFC 5230).
    """
    CREATE TABLE sieve_scripts (
        mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        script TEXT NOT NULL,
        active INTEGER NOT NULL DEFAULT 0,
        updated INTEGER NOT NULL,
        PRIMARY KEY (mailbox_id, name)
    );
    CREATE TABLE sieve_vacation_replies (
        mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
        handle TEXT NOT NULL,
        sender TEXT NOT NULL,
        sent INTEGER NOT NULL,
        PRIMARY KEY (mailbox_id, handle, sender)
    );
    """,
    # 7: an administrator's Sieve script per mail domain, run before each mailbox's own
    # (swissbox.directory.sievescripts).
    """
    CREATE TABLE sieve_domain_scripts (
        domain_id INTEGER PRIMARY KEY REFERENCES email_services(domain_id) ON DELETE CASCADE,
        script TEXT NOT NULL,
        updated INTEGER NOT NULL
    );
    """,
    # 8: messages and recipients each mailbox submitted, per minute, so that every front end
    # counts against one sending limit per hour (swissbox.directory.sendcounts).
    """
    CREATE TABLE send_counts (
        mailbox TEXT NOT NULL,
        minute INTEGER NOT NULL,
        messages INTEGER NOT NULL,
        recipients INTEGER NOT NULL,
        PRIMARY KEY (mailbox, minute)
    );
    """,
    # 9: the Manager (swissbox.directory.managerdata): browser sessions and API tokens of
    # accounts (only SHA-256 digests of their random secrets are kept) and the audit log of
    # every change made through the admin API (never a secret in it).
    """
    CREATE TABLE manager_sessions (
        digest TEXT PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        csrf TEXT NOT NULL,
        created INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        expires INTEGER NOT NULL
    );
    CREATE INDEX manager_sessions_by_account ON manager_sessions (account_id);
    CREATE TABLE api_tokens (
        id INTEGER PRIMARY KEY,
        digest TEXT NOT NULL UNIQUE,
        org_id INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
        account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        permissions TEXT NOT NULL,
        created INTEGER NOT NULL,
        last_used INTEGER,
        revoked INTEGER
    );
    CREATE INDEX api_tokens_by_org ON api_tokens (org_id);
    CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        time INTEGER NOT NULL,
        org_id INTEGER REFERENCES orgs(id) ON DELETE SET NULL,
        actor TEXT NOT NULL,
        via TEXT NOT NULL,
        client TEXT NOT NULL DEFAULT '',
        action TEXT NOT NULL,
        target TEXT NOT NULL DEFAULT '',
        detail TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX audit_log_by_org ON audit_log (org_id, id);
    """,
    # 10: two-factor authentication of accounts and app passwords
    # (swissbox.directory.twofactor). The TOTP secret is kept as is (the server must compute
    # codes); recovery codes only as SHA-256 digests, app passwords as Argon2 hashes. An app
    # password is either for DAV (realm 'account', no mailbox) or for one mailbox (realm
    # 'mailbox'): it goes when the account or that mailbox goes.
    """
    CREATE TABLE totp (
        account_id INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
        secret TEXT NOT NULL,
        created INTEGER NOT NULL,
        confirmed INTEGER,
        last_step INTEGER
    );
    CREATE TABLE recovery_codes (
        account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        digest TEXT NOT NULL,
        PRIMARY KEY (account_id, digest)
    );
    CREATE TABLE app_passwords (
        id INTEGER PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        realm TEXT NOT NULL CHECK (realm IN ('account', 'mailbox')),
        mailbox_id INTEGER REFERENCES mailboxes(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        created INTEGER NOT NULL,
        last_used INTEGER,
        CHECK ((realm = 'mailbox') = (mailbox_id IS NOT NULL))
    );
    CREATE INDEX app_passwords_by_account ON app_passwords (account_id);
    CREATE INDEX app_passwords_by_mailbox ON app_passwords (mailbox_id);
    CREATE TABLE login_pending (
        digest TEXT PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        expires INTEGER NOT NULL
    );
    """,
    # 11: failed logins counted by every front end together (auth.ratelimit's per-address and
    # per-(identifier, address) counts), on PostgreSQL: one row per failure, by key and time.
    """
    CREATE TABLE auth_failures (
        key TEXT NOT NULL,
        at_time REAL NOT NULL
    );
    CREATE INDEX auth_failures_by_key ON auth_failures (key, at_time);
    """,
    # 12: where each Manager session began: the client's address and its browser's
    # User-Agent (cut to 300 characters), so that a member can tell sessions apart.
    """
    ALTER TABLE manager_sessions ADD COLUMN client TEXT NOT NULL DEFAULT '';
    ALTER TABLE manager_sessions ADD COLUMN agent TEXT NOT NULL DEFAULT '';
    """,
]
