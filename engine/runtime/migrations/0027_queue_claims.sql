-- Queues whose claims do not slow down with dead rows (issue 4, durable runtime).
--
-- The claims no longer start at the head of outbox_ready and timer_due: each worker thread
-- starts from a lower bound (the newest key it claimed, or now() less a margin) and sweeps
-- from the head at most once a second after something happened (worker.c explains why that
-- loses nothing). The next-due probes start at now(). What still walks from the head is the
-- sweep, the reaper and vacuum itself, so the entries of rows that left the queue should not
-- pile up: both tables keep their done rows (payments, taxes and bank collections read the
-- outbox's results; the timers' history is the expedient's), so with the default scale
-- factor (20% of the table) vacuum would come ever more rarely as they grow. Here it comes
-- after 1% of the table plus 1,000 rows have changed, and its index pass is what removes the
-- dead entries. Time partitions were considered and not taken: see docs/operations.md.
ALTER TABLE outbox SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000,
                        autovacuum_analyze_scale_factor = 0.02);
ALTER TABLE timer SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000,
                       autovacuum_analyze_scale_factor = 0.02);
