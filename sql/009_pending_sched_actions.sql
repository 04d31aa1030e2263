-- The scheduler asks every tick which actions are still to run (TIME > DONE): due ones (TIME < now) and the
-- earliest one. Finished actions drop out of this index, so an idle tick reads no row of the jobs that have none.
CREATE INDEX schedaction_pool_pending ON schedaction_pool (time, oid) WHERE time > done;
