-- Secrets and personal data at rest (api/src/at_rest.rs, docs/security.md "Data at
-- rest"). Portable SQL as in the foundation migration. The values themselves are sealed
-- at start by the server (api/src/store/at_rest.rs), which holds the master key; this
-- only makes room.

-- Candidates are found by the keyed blind index of the ID number, which takes the
-- place (and the UNIQUE constraint) of the plain column: renaming keeps the
-- constraint on both databases without SQLite's table rebuild, which the rows of
-- candidate_fees and orders referring to candidates would make a copy of every table.
-- Until the conversion at start reaches a row, `id_number_index` still holds the
-- plain ID number and `phone_sealed` the plain phone; `id_number_sealed` NULL marks
-- such a row.
ALTER TABLE candidates RENAME COLUMN id_number TO id_number_index;
ALTER TABLE candidates RENAME COLUMN phone TO phone_sealed;
ALTER TABLE candidates ADD COLUMN id_number_sealed TEXT;

-- Sessions are stored by the SHA-256 of their id. Those of before are dropped rather
-- than hashed: every one is at most one token lifetime old, the upgrade asks everyone
-- to log in once more, and nothing plain is left to convert.
DELETE FROM sessions;
ALTER TABLE sessions RENAME COLUMN id TO id_hash;

-- The lockout's account key becomes an HMAC under a subkey of the master key (an
-- unkeyed hash of an ID number gives it back by trying). Counts in flight end with the
-- upgrade, as in 20261203000002.
DELETE FROM login_attempts;
