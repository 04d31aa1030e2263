-- Every tick counts the VMs in BACKUP / BACKUP_POWEROFF per host and lists the PENDING ones. Those VMs are few, but
-- their rows are rewritten on every state change: through the (state, lcm_state) index the count visits every dead
-- version left since the last vacuum (thousands during an emu.clock.advance of days). Partial indexes hold only the
-- live few, and index scans drop the dead entries they meet.
CREATE INDEX vm_pool_backing_up ON vm_pool (oid) WHERE state = 3 AND lcm_state IN (69, 70);
CREATE INDEX vm_pool_pending ON vm_pool (oid) WHERE state = 1;
