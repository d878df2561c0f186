-- CSV lookups are limited per client address per minute across every server on the database
-- (web/verify.c counts them on the lookup log), so the log needs an index by client and time.
CREATE INDEX csv_lookup_client_at ON csv_lookup (client, at);
