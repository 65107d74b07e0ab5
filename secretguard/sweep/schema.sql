-- secretguard sweep store, schema version 5 (PRAGMA user_version = 5).
--
-- One SQLite file (WAL mode) holds everything a sweep of many repositories knows: the repositories, the
-- blobs already scanned (shared by every repository, so a fork costs nothing twice), the findings with
-- every place they were seen, validation results, triage decisions and the history of runs.
--
-- No plaintext secret is ever stored, nor a fast hash of one: a finding keeps its fingerprint and the hash of
-- its secret, both scrypt under the salt in hash_key, and the redacted form that reports show. Later versions
-- upgrade this schema in numbered steps (store.py).

PRAGMA application_id = 1397183319;  -- 'SGSW': tells a sweep store from any other SQLite file

-- The salt of every keyed hash in the store, made on first use (secretguard.hashing.SaltedHasher): the same
-- secret gets the same fingerprint in every run, while a reader of this file pays one scrypt per guess.
CREATE TABLE hash_key (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    kdf     TEXT NOT NULL,                  -- 'scrypt'
    salt    TEXT NOT NULL,                  -- hex
    n       INTEGER NOT NULL,               -- scrypt cost parameters
    r       INTEGER NOT NULL,
    p       INTEGER NOT NULL
) STRICT;

-- What a blob's "scanned" means depends on the rules and filters it was scanned with: a profile is a
-- digest of those. A blob scanned under another profile counts as not scanned.
CREATE TABLE profile (
    id      INTEGER PRIMARY KEY,
    digest  TEXT NOT NULL UNIQUE            -- sha256 of the rule specs, allowlist and size limit
) STRICT;

-- One sweep invocation. A run killed before it finished stays 'running' until the next sweep of the
-- same repository list resumes it, or a sweep of another list marks it 'interrupted'.
CREATE TABLE run (
    id              INTEGER PRIMARY KEY,
    started_at      TEXT NOT NULL,          -- ISO-8601, UTC
    finished_at     TEXT,
    status          TEXT NOT NULL CHECK (status IN ('running', 'finished', 'interrupted')),
    inputs_sha256   TEXT NOT NULL,          -- digest of the sorted repository keys: what "the same sweep" means
    profile_id      INTEGER NOT NULL REFERENCES profile (id),
    backend         TEXT NOT NULL           -- 'local:N' or 'ray:ADDRESS'
) STRICT;

-- A repository as the user named it: an absolute local path, or a clone URL (credentials removed).
CREATE TABLE repository (
    id          INTEGER PRIMARY KEY,
    key         TEXT NOT NULL UNIQUE,
    size_bytes  INTEGER,                    -- on-disk size of its object database at the last scan
    refs_sha256 TEXT,                       -- digest of the profile and every ref's target at the last scan
                                            -- that succeeded: while it stays the same, nothing new is reachable
    status      TEXT CHECK (status IN ('ok', 'failed')),   -- of the last attempt; NULL before any
    error       TEXT,                       -- one line, when the last attempt failed
    last_run_id INTEGER REFERENCES run (id),
    history_complete INTEGER CHECK (history_complete IN (0, 1))  -- 0: a shallow or partial clone when last
                                            -- walked, so part of its history was not scanned; NULL: not yet walked
) STRICT;

-- What one run did with one repository. Written in the same transaction as everything the repository
-- yielded, so a repository is either wholly recorded for a run or not at all.
CREATE TABLE run_repository (
    run_id          INTEGER NOT NULL REFERENCES run (id),
    repository_id   INTEGER NOT NULL REFERENCES repository (id),
    status          TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    error           TEXT,
    blobs_scanned   INTEGER NOT NULL,
    bytes_scanned   INTEGER NOT NULL,
    blobs_skipped   INTEGER NOT NULL,       -- too large to scan
    new_findings    INTEGER NOT NULL,
    seconds         REAL NOT NULL,
    finished_at     TEXT NOT NULL,
    history_complete INTEGER CHECK (history_complete IN (0, 1)),  -- as in repository; NULL: not walked
    PRIMARY KEY (run_id, repository_id)
) STRICT;

-- Every blob scanned, once, whichever repository it was in. A blob with raw hits ("matched") is scanned
-- again in each repository that has not yet placed it, so every repository gets its own locations.
CREATE TABLE blob (
    oid         BLOB PRIMARY KEY,           -- the raw object ID (20 bytes for SHA-1)
    profile_id  INTEGER NOT NULL REFERENCES profile (id),
    matched     INTEGER NOT NULL CHECK (matched IN (0, 1)),
    run_id      INTEGER NOT NULL REFERENCES run (id)    -- the run that scanned it last
) STRICT, WITHOUT ROWID;

CREATE INDEX blob_clean ON blob (profile_id, oid) WHERE matched = 0;

-- Matched blobs that a repository has already placed (found their commit and path in it).
CREATE TABLE repository_blob (
    repository_id   INTEGER NOT NULL REFERENCES repository (id),
    oid             BLOB NOT NULL REFERENCES blob (oid),
    PRIMARY KEY (repository_id, oid)
) STRICT, WITHOUT ROWID;

-- One unique secret found by one rule, across every repository.
CREATE TABLE finding (
    id              INTEGER PRIMARY KEY,
    fingerprint     TEXT NOT NULL UNIQUE,   -- HMAC under the salt of rule id and secret_hash
    rule            TEXT NOT NULL,
    name            TEXT NOT NULL,
    severity        TEXT NOT NULL,
    kind            TEXT,                   -- 'hash' for a password hash (the rule's kind); NULL: the credential
    secret_hash     TEXT NOT NULL,          -- scrypt of sha256(secret) under the salt
    secret_redacted TEXT NOT NULL,
    entropy         REAL NOT NULL,
    aws_account     TEXT,                   -- decoded offline from an AWS key ID
    pair_rule       TEXT,                   -- the other half of a credential, when one was seen nearby
    pair_hash       TEXT,
    pair_redacted   TEXT,
    first_run_id    INTEGER NOT NULL REFERENCES run (id),
    last_run_id     INTEGER NOT NULL REFERENCES run (id)    -- the last run that saw it
) STRICT;

-- Every place a finding was seen: the commit and path that introduced the blob, and where in it.
-- Absent values are '' and 0 so that the uniqueness below holds (NULLs never compare equal).
-- A location whose commit no ref reaches any more (history rewritten, branch deleted) is kept, since the
-- secret was exposed there, and marked with the run that found it gone; it is cleared if it comes back.
CREATE TABLE location (
    finding_id      INTEGER NOT NULL REFERENCES finding (id),
    repository_id   INTEGER NOT NULL REFERENCES repository (id),
    "commit"        TEXT NOT NULL,
    path            TEXT NOT NULL,
    line            INTEGER NOT NULL,
    "column"        INTEGER NOT NULL,
    author          TEXT,
    date            TEXT,
    first_run_id    INTEGER NOT NULL REFERENCES run (id),
    gone_run_id     INTEGER REFERENCES run (id),    -- since when no ref reaches the commit; NULL: reachable
    PRIMARY KEY (finding_id, repository_id, "commit", path, line, "column")
) STRICT, WITHOUT ROWID;

CREATE INDEX location_repository ON location (repository_id);

-- The latest validation of a finding (sweep --validate): status live|invalid|mismatch|expired|canary|
-- error|unchecked, and the rest of the validator's answer as JSON (ARN, account, error line).
CREATE TABLE validation (
    finding_id  INTEGER PRIMARY KEY REFERENCES finding (id),
    status      TEXT NOT NULL,
    detail      TEXT NOT NULL,              -- JSON object, as the json report shows it
    run_id      INTEGER NOT NULL REFERENCES run (id),
    checked_at  TEXT NOT NULL
) STRICT;

-- Decisions people made about findings (`secretguard findings triage`), newest last. Sweeps never
-- touch this table, so decisions outlive every later sweep. The newest row per finding is in force.
CREATE TABLE triage (
    id          INTEGER PRIMARY KEY,
    finding_id  INTEGER NOT NULL REFERENCES finding (id),
    status      TEXT NOT NULL CHECK (status IN ('false-positive', 'revoked', 'accepted')),
    note        TEXT NOT NULL,
    decided_by  TEXT NOT NULL,
    decided_at  TEXT NOT NULL
) STRICT;

CREATE INDEX triage_finding ON triage (finding_id, id);

PRAGMA user_version = 5;
