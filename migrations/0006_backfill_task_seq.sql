-- Custom SQL migration file, put your code below! --
-- Hand-written (drizzle-kit generate --custom): gives the tasks written before 0005 their
-- task_seq, in (submit_time, id) order, so the admin's page k by task_seq shows them as the
-- old OFFSET pages did. The newest task takes the counter's value (the counter is first made
-- at least the row count), so the tasks insertTask writes next continue the sequence.
-- No counter row is made for an empty table (seeds that insert the row themselves stay valid).
INSERT INTO counters (name, value)
  SELECT 'tasks', n FROM (SELECT COUNT(*) AS n FROM tasks) WHERE n > 0
  ON CONFLICT (name) DO UPDATE SET value = MAX(value, excluded.value);--> statement-breakpoint
UPDATE tasks SET task_seq = ranked.seq
FROM (
  SELECT id, ROW_NUMBER() OVER (ORDER BY submit_time, id)
    + (SELECT value FROM counters WHERE name = 'tasks') - (SELECT COUNT(*) FROM tasks) AS seq
  FROM tasks
) AS ranked
WHERE tasks.id = ranked.id;
