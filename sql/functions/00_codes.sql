-- 00_codes: the numbers of proto/pointclear.proto that the functions decide with,
-- named once. Every function in sql/functions/ writes pc_code_insufficient_points()
-- where it means Code INSUFFICIENT_POINTS, never 50; tests/unit/test_sql_codes.c
-- fails if a name or number here differs from the proto's (pc_code_* are Code,
-- pc_status_* Status, pc_disposition_* Disposition; one definition per line).
--
-- Each is an IMMUTABLE function of no arguments, so the planner evaluates it once
-- when it plans a statement and keeps the constant: a cached plan, and every plan
-- of the writer once it runs generic plans, costs what a literal costs. Inside a
-- PL/pgSQL expression the same holds, the expression being planned once. PL/pgSQL
-- rather than SQL: the planner evaluates a call of either, and a PL/pgSQL one
-- costs about a microsecond against four (a custom plan, made again at every
-- call, holds a few dozen). They return integer, the type of the literals they
-- replace, so every comparison and assignment is the one it was.
--
-- First of the files: any function may use them. Only the owner's functions do:
-- nobody else may execute them (ROUTINE names them below because
-- tests/unit/test_sql_codes.c reads a line naming FUNCTION as a definition).

-- Disposition: what became of a request
CREATE OR REPLACE FUNCTION pc_disposition_unspecified() RETURNS integer LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$ BEGIN RETURN 0; END $$;
CREATE OR REPLACE FUNCTION pc_disposition_recorded() RETURNS integer LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$ BEGIN RETURN 1; END $$;
CREATE OR REPLACE FUNCTION pc_disposition_replayed() RETURNS integer LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$ BEGIN RETURN 2; END $$;
CREATE OR REPLACE FUNCTION pc_disposition_rejected() RETURNS integer LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$ BEGIN RETURN 3; END $$;

-- Status: the decision on a recorded event
CREATE OR REPLACE FUNCTION pc_status_approved() RETURNS integer LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$ BEGIN RETURN 1; END $$;
CREATE OR REPLACE FUNCTION pc_status_declined() RETURNS integer LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$ BEGIN RETURN 2; END $$;

-- Code: why
CREATE OR REPLACE FUNCTION pc_code_ok() RETURNS integer LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$ BEGIN RETURN 0; END $$;
CREATE OR REPLACE FUNCTION pc_code_unknown_key() RETURNS integer LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$ BEGIN RETURN 21; END $$;
CREATE OR REPLACE FUNCTION pc_code_key_revoked() RETURNS integer LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$ BEGIN RETURN 22; END $$;
CREATE OR REPLACE FUNCTION pc_code_key_not_yet_valid() RETURNS integer LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$ BEGIN RETURN 23; END $$;
CREATE OR REPLACE FUNCTION pc_code_wrong_merchant() RETURNS integer LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$ BEGIN RETURN 24; END $$;
CREATE OR REPLACE FUNCTION pc_code_unknown_alliance() RETURNS integer LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$ BEGIN RETURN 25; END $$;
CREATE OR REPLACE FUNCTION pc_code_merchant_inactive() RETURNS integer LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$ BEGIN RETURN 27; END $$;
CREATE OR REPLACE FUNCTION pc_code_unknown_member() RETURNS integer LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$ BEGIN RETURN 28; END $$;
CREATE OR REPLACE FUNCTION pc_code_amount_too_large() RETURNS integer LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$ BEGIN RETURN 33; END $$;
CREATE OR REPLACE FUNCTION pc_code_conflict() RETURNS integer LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$ BEGIN RETURN 40; END $$;
CREATE OR REPLACE FUNCTION pc_code_not_found() RETURNS integer LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$ BEGIN RETURN 41; END $$;
CREATE OR REPLACE FUNCTION pc_code_insufficient_points() RETURNS integer LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$ BEGIN RETURN 50; END $$;
CREATE OR REPLACE FUNCTION pc_code_hold_not_found() RETURNS integer LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$ BEGIN RETURN 51; END $$;
CREATE OR REPLACE FUNCTION pc_code_hold_exceeded() RETURNS integer LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$ BEGIN RETURN 52; END $$;
CREATE OR REPLACE FUNCTION pc_code_hold_expired() RETURNS integer LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$ BEGIN RETURN 53; END $$;
CREATE OR REPLACE FUNCTION pc_code_hold_voided() RETURNS integer LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$ BEGIN RETURN 54; END $$;
CREATE OR REPLACE FUNCTION pc_code_hold_captured() RETURNS integer LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$ BEGIN RETURN 55; END $$;
CREATE OR REPLACE FUNCTION pc_code_original_not_found() RETURNS integer LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$ BEGIN RETURN 56; END $$;
CREATE OR REPLACE FUNCTION pc_code_not_reversible() RETURNS integer LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$ BEGIN RETURN 57; END $$;
CREATE OR REPLACE FUNCTION pc_code_reversal_exceeds_remaining() RETURNS integer LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$ BEGIN RETURN 58; END $$;
CREATE OR REPLACE FUNCTION pc_code_foreign_event() RETURNS integer LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$ BEGIN RETURN 59; END $$;
CREATE OR REPLACE FUNCTION pc_code_member_auth_required() RETURNS integer LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$ BEGIN RETURN 80; END $$;
CREATE OR REPLACE FUNCTION pc_code_member_auth_invalid() RETURNS integer LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$ BEGIN RETURN 81; END $$;
CREATE OR REPLACE FUNCTION pc_code_member_auth_expired() RETURNS integer LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$ BEGIN RETURN 82; END $$;
CREATE OR REPLACE FUNCTION pc_code_member_auth_reused() RETURNS integer LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$ BEGIN RETURN 85; END $$;

REVOKE EXECUTE ON ROUTINE pc_disposition_unspecified, pc_disposition_recorded,
    pc_disposition_replayed, pc_disposition_rejected, pc_status_approved,
    pc_status_declined, pc_code_ok, pc_code_unknown_key, pc_code_key_revoked,
    pc_code_key_not_yet_valid, pc_code_wrong_merchant, pc_code_unknown_alliance,
    pc_code_merchant_inactive, pc_code_unknown_member, pc_code_amount_too_large, pc_code_conflict,
    pc_code_insufficient_points, pc_code_hold_not_found, pc_code_hold_exceeded,
    pc_code_hold_expired, pc_code_hold_voided, pc_code_hold_captured,
    pc_code_original_not_found, pc_code_not_reversible,
    pc_code_reversal_exceeds_remaining, pc_code_foreign_event,
    pc_code_member_auth_required, pc_code_member_auth_invalid,
    pc_code_member_auth_expired, pc_code_member_auth_reused
    FROM PUBLIC;
