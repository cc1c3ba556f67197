-- The reports order and group text as SQLite does, byte by byte (ADR 0035):
-- names, stages and ids sort the same on both backends and in the code that
-- merges parts of a report, whatever collation the database was created
-- with (a Ukrainian or English one would put "альфа" before "Бета"; bytes
-- put "Бета" first). Every text column of the reporting tables takes the
-- "C" collation; their indexes are rebuilt with it.
DO $$
DECLARE
    col record;
BEGIN
    FOR col IN
        SELECT c.table_name, c.column_name
        FROM information_schema.columns c
        JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
        WHERE c.table_schema = current_schema() AND c.table_name LIKE 'rpt\_%' AND c.data_type = 'text'
          AND t.table_type = 'BASE TABLE'
        ORDER BY c.table_name, c.ordinal_position
    LOOP
        EXECUTE format('ALTER TABLE %I ALTER COLUMN %I TYPE text COLLATE "C"', col.table_name, col.column_name);
    END LOOP;
END
$$;
