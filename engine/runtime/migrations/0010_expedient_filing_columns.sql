-- An expedient's filing (its first entry-registry number and time) and its receipt's CSV never
-- change once set, and every page and API answer shows them: kept on the expedient row, the
-- view of an expedient is that row alone, without two lookups per read.
ALTER TABLE expedient ADD COLUMN registry_number text, ADD COLUMN presented_at timestamptz,
    ADD COLUMN receipt_csv text;
UPDATE expedient x SET registry_number = r.number, presented_at = r.presented_at
  FROM (SELECT DISTINCT ON (expedient_id) expedient_id, number, presented_at FROM registry_entry
        WHERE expedient_id IS NOT NULL ORDER BY expedient_id, id) r
 WHERE r.expedient_id = x.id;
UPDATE expedient x SET receipt_csv = d.csv
  FROM (SELECT DISTINCT ON (expedient_id) expedient_id, csv FROM document
        WHERE kind = 'receipt' AND expedient_id IS NOT NULL ORDER BY expedient_id, created_at) d
 WHERE d.expedient_id = x.id;
