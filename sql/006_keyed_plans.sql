-- 006_keyed_plans: the writer's functions plan every lookup as a keyed probe.
--
-- Every statement inside pc_apply_batch and the hold sweep reaches its rows by a
-- key (an event id, a member, a hold's sequence). PL/pgSQL caches a statement's
-- plan for the session, and a plan made while a table was small is a sequential
-- scan that stays until the table is next analyzed. A new alliance starts with
-- empty holds, so the writer's session kept scanning the whole of holds for
-- every capture and void: measured over 20 s of the bench, 6,915 scans that
-- read 10.8 million rows and not one index probe, about a tenth of the backend's
-- time, and more the longer the table grows before autovacuum analyzes it.
-- Turning sequential scans off only prices them out, so a statement that has no
-- index to use still gets one; the setting applies to these calls alone and to
-- the functions they call (pc_apply_batch, pc_open_hold, pc_release_expired).

ALTER FUNCTION pc_apply_batch_receipts(
    text[], text[], text[], text[], smallint[], bytea[], bytea[], timestamptz[], text[],
    text[], text[], bigint[], text[], bigint[], integer[], text[], text[], text[], text[],
    text[], timestamptz[], text[])
    SET enable_seqscan = off;

ALTER FUNCTION pc_expire_holds(integer) SET enable_seqscan = off;
