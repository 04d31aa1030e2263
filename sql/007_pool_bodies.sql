-- The pool listing of backup jobs is the concatenation of each row's stored document, as in oned (BackupJob bodies
-- in backupjob_pool.body). Keeping the rendered document beside the jsonb spares one.backupjobpool.info from
-- rebuilding 10 000 objects per call. Rows written before this migration have NULL and are rendered on read.
-- It is kept escaped for an XML-RPC <string> (&, <, >, CR), so a listing is sent without escaping megabytes.
ALTER TABLE backupjob_pool ADD COLUMN body_wire text;
