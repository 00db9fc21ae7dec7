-- Custom SQL migration file, put your code below! --
-- Hand-written (drizzle-kit generate --custom): the triggers that keep the dashboard's rollups
-- (0010) in step with tasks, and their backfill from the tasks already written.
--
-- Each trigger adds a row's share of the rollups (AFTER INSERT), takes it away (AFTER DELETE),
-- or, when a column a rollup depends on changes, takes the old row's share away and adds the new
-- one's (AFTER UPDATE; each statement is guarded by the columns it reads, so a progress write
-- that changes none of them writes no rollup row). Every write path (insertTask, the Durable
-- Object's progress writes, the refund in the same batch, seeds in tests) is covered without
-- code of its own, and the trigger runs inside the writing statement, so a rollup never
-- disagrees with the tasks table, even for a moment.
--
-- Hour = ms / 3600000, day = ms / 86400000 (UTC). A task's end time is finish_time (submit_time if
-- unset). Duration bucket: 0 under 1 s, else 1 + floor(4 * log2(seconds)), at most 57
-- (src/db/stats.ts durationBucket mirrors it).
CREATE TRIGGER stats_task_insert AFTER INSERT ON tasks BEGIN
  INSERT INTO stats_hours (hour, submitted, charged, refunded)
    SELECT NEW.submit_time / 3600000, 1, NEW.quota, NEW.quota * NEW.refunded WHERE true
    ON CONFLICT (hour) DO UPDATE SET submitted = submitted + excluded.submitted, charged = charged + excluded.charged,
      refunded = refunded + excluded.refunded;
  INSERT INTO stats_hours (hour, succeeded, failed, cancelled)
    SELECT COALESCE(NEW.finish_time, NEW.submit_time) / 3600000, (NEW.status = 'SUCCESS'), (NEW.status = 'FAILURE'), (NEW.status = 'CANCEL')
    WHERE (NEW.status IN ('SUCCESS', 'FAILURE', 'CANCEL'))
    ON CONFLICT (hour) DO UPDATE SET succeeded = succeeded + excluded.succeeded, failed = failed + excluded.failed,
      cancelled = cancelled + excluded.cancelled;
  INSERT INTO stats_channel_days (day, channel_id, tasks, failures)
    SELECT NEW.submit_time / 86400000, NEW.channel_id, 1, (NEW.status = 'FAILURE')
    WHERE (NEW.channel_id IS NOT NULL)
    ON CONFLICT (day, channel_id) DO UPDATE SET tasks = tasks + excluded.tasks, failures = failures + excluded.failures;
  INSERT INTO stats_action_durations (day, action, bucket, count)
    SELECT COALESCE(NEW.finish_time, NEW.submit_time) / 86400000, NEW.action, CASE WHEN MAX(0, COALESCE(NEW.finish_time, NEW.submit_time) - NEW.submit_time) < 1000 THEN 0 ELSE MIN(57, 1 + CAST(floor(4 * log2(MAX(0, COALESCE(NEW.finish_time, NEW.submit_time) - NEW.submit_time) / 1000.0)) AS INTEGER)) END, 1
    WHERE (NEW.status = 'SUCCESS')
    ON CONFLICT (day, action, bucket) DO UPDATE SET count = count + excluded.count;
  INSERT INTO stats_user_days (day, user_id, tasks, spent)
    SELECT NEW.submit_time / 86400000, NEW.user_id, 1, NEW.quota * (1 - NEW.refunded) WHERE true
    ON CONFLICT (day, user_id) DO UPDATE SET tasks = tasks + excluded.tasks, spent = spent + excluded.spent;
  INSERT INTO stats_users (user_id, tasks, spent)
    SELECT NEW.user_id, 1, NEW.quota * (1 - NEW.refunded) WHERE true
    ON CONFLICT (user_id) DO UPDATE SET tasks = tasks + excluded.tasks, spent = spent + excluded.spent;
END;--> statement-breakpoint
CREATE TRIGGER stats_task_delete AFTER DELETE ON tasks BEGIN
  INSERT INTO stats_hours (hour, submitted, charged, refunded)
    SELECT OLD.submit_time / 3600000, -1, -OLD.quota, -OLD.quota * OLD.refunded WHERE true
    ON CONFLICT (hour) DO UPDATE SET submitted = submitted + excluded.submitted, charged = charged + excluded.charged,
      refunded = refunded + excluded.refunded;
  INSERT INTO stats_hours (hour, succeeded, failed, cancelled)
    SELECT COALESCE(OLD.finish_time, OLD.submit_time) / 3600000, -(OLD.status = 'SUCCESS'), -(OLD.status = 'FAILURE'), -(OLD.status = 'CANCEL')
    WHERE (OLD.status IN ('SUCCESS', 'FAILURE', 'CANCEL'))
    ON CONFLICT (hour) DO UPDATE SET succeeded = succeeded + excluded.succeeded, failed = failed + excluded.failed,
      cancelled = cancelled + excluded.cancelled;
  INSERT INTO stats_channel_days (day, channel_id, tasks, failures)
    SELECT OLD.submit_time / 86400000, OLD.channel_id, -1, -(OLD.status = 'FAILURE')
    WHERE (OLD.channel_id IS NOT NULL)
    ON CONFLICT (day, channel_id) DO UPDATE SET tasks = tasks + excluded.tasks, failures = failures + excluded.failures;
  INSERT INTO stats_action_durations (day, action, bucket, count)
    SELECT COALESCE(OLD.finish_time, OLD.submit_time) / 86400000, OLD.action, CASE WHEN MAX(0, COALESCE(OLD.finish_time, OLD.submit_time) - OLD.submit_time) < 1000 THEN 0 ELSE MIN(57, 1 + CAST(floor(4 * log2(MAX(0, COALESCE(OLD.finish_time, OLD.submit_time) - OLD.submit_time) / 1000.0)) AS INTEGER)) END, -1
    WHERE (OLD.status = 'SUCCESS')
    ON CONFLICT (day, action, bucket) DO UPDATE SET count = count + excluded.count;
  INSERT INTO stats_user_days (day, user_id, tasks, spent)
    SELECT OLD.submit_time / 86400000, OLD.user_id, -1, -OLD.quota * (1 - OLD.refunded) WHERE true
    ON CONFLICT (day, user_id) DO UPDATE SET tasks = tasks + excluded.tasks, spent = spent + excluded.spent;
  INSERT INTO stats_users (user_id, tasks, spent)
    SELECT OLD.user_id, -1, -OLD.quota * (1 - OLD.refunded) WHERE true
    ON CONFLICT (user_id) DO UPDATE SET tasks = tasks + excluded.tasks, spent = spent + excluded.spent;
END;--> statement-breakpoint
CREATE TRIGGER stats_task_update
  AFTER UPDATE OF status, finish_time, channel_id, refunded, quota, submit_time, user_id, action ON tasks
  WHEN (OLD.submit_time IS NOT NEW.submit_time OR OLD.quota IS NOT NEW.quota OR OLD.refunded IS NOT NEW.refunded)
  OR (OLD.status IS NOT NEW.status OR OLD.finish_time IS NOT NEW.finish_time OR OLD.submit_time IS NOT NEW.submit_time)
  OR (OLD.channel_id IS NOT NEW.channel_id OR OLD.submit_time IS NOT NEW.submit_time OR (OLD.status = 'FAILURE') IS NOT (NEW.status = 'FAILURE'))
  OR (OLD.status IS NOT NEW.status OR OLD.finish_time IS NOT NEW.finish_time OR OLD.submit_time IS NOT NEW.submit_time OR OLD.action IS NOT NEW.action)
  OR (OLD.user_id IS NOT NEW.user_id OR OLD.submit_time IS NOT NEW.submit_time OR OLD.quota IS NOT NEW.quota OR OLD.refunded IS NOT NEW.refunded)
BEGIN
  INSERT INTO stats_hours (hour, submitted, charged, refunded)
    SELECT OLD.submit_time / 3600000, -1, -OLD.quota, -OLD.quota * OLD.refunded WHERE (OLD.submit_time IS NOT NEW.submit_time OR OLD.quota IS NOT NEW.quota OR OLD.refunded IS NOT NEW.refunded)
    ON CONFLICT (hour) DO UPDATE SET submitted = submitted + excluded.submitted, charged = charged + excluded.charged,
      refunded = refunded + excluded.refunded;
  INSERT INTO stats_hours (hour, succeeded, failed, cancelled)
    SELECT COALESCE(OLD.finish_time, OLD.submit_time) / 3600000, -(OLD.status = 'SUCCESS'), -(OLD.status = 'FAILURE'), -(OLD.status = 'CANCEL')
    WHERE (OLD.status IN ('SUCCESS', 'FAILURE', 'CANCEL')) AND (OLD.status IS NOT NEW.status OR OLD.finish_time IS NOT NEW.finish_time OR OLD.submit_time IS NOT NEW.submit_time)
    ON CONFLICT (hour) DO UPDATE SET succeeded = succeeded + excluded.succeeded, failed = failed + excluded.failed,
      cancelled = cancelled + excluded.cancelled;
  INSERT INTO stats_channel_days (day, channel_id, tasks, failures)
    SELECT OLD.submit_time / 86400000, OLD.channel_id, -1, -(OLD.status = 'FAILURE')
    WHERE (OLD.channel_id IS NOT NULL) AND (OLD.channel_id IS NOT NEW.channel_id OR OLD.submit_time IS NOT NEW.submit_time OR (OLD.status = 'FAILURE') IS NOT (NEW.status = 'FAILURE'))
    ON CONFLICT (day, channel_id) DO UPDATE SET tasks = tasks + excluded.tasks, failures = failures + excluded.failures;
  INSERT INTO stats_action_durations (day, action, bucket, count)
    SELECT COALESCE(OLD.finish_time, OLD.submit_time) / 86400000, OLD.action, CASE WHEN MAX(0, COALESCE(OLD.finish_time, OLD.submit_time) - OLD.submit_time) < 1000 THEN 0 ELSE MIN(57, 1 + CAST(floor(4 * log2(MAX(0, COALESCE(OLD.finish_time, OLD.submit_time) - OLD.submit_time) / 1000.0)) AS INTEGER)) END, -1
    WHERE (OLD.status = 'SUCCESS') AND (OLD.status IS NOT NEW.status OR OLD.finish_time IS NOT NEW.finish_time OR OLD.submit_time IS NOT NEW.submit_time OR OLD.action IS NOT NEW.action)
    ON CONFLICT (day, action, bucket) DO UPDATE SET count = count + excluded.count;
  INSERT INTO stats_user_days (day, user_id, tasks, spent)
    SELECT OLD.submit_time / 86400000, OLD.user_id, -1, -OLD.quota * (1 - OLD.refunded) WHERE (OLD.user_id IS NOT NEW.user_id OR OLD.submit_time IS NOT NEW.submit_time OR OLD.quota IS NOT NEW.quota OR OLD.refunded IS NOT NEW.refunded)
    ON CONFLICT (day, user_id) DO UPDATE SET tasks = tasks + excluded.tasks, spent = spent + excluded.spent;
  INSERT INTO stats_users (user_id, tasks, spent)
    SELECT OLD.user_id, -1, -OLD.quota * (1 - OLD.refunded) WHERE (OLD.user_id IS NOT NEW.user_id OR OLD.submit_time IS NOT NEW.submit_time OR OLD.quota IS NOT NEW.quota OR OLD.refunded IS NOT NEW.refunded)
    ON CONFLICT (user_id) DO UPDATE SET tasks = tasks + excluded.tasks, spent = spent + excluded.spent;
  INSERT INTO stats_hours (hour, submitted, charged, refunded)
    SELECT NEW.submit_time / 3600000, 1, NEW.quota, NEW.quota * NEW.refunded WHERE (OLD.submit_time IS NOT NEW.submit_time OR OLD.quota IS NOT NEW.quota OR OLD.refunded IS NOT NEW.refunded)
    ON CONFLICT (hour) DO UPDATE SET submitted = submitted + excluded.submitted, charged = charged + excluded.charged,
      refunded = refunded + excluded.refunded;
  INSERT INTO stats_hours (hour, succeeded, failed, cancelled)
    SELECT COALESCE(NEW.finish_time, NEW.submit_time) / 3600000, (NEW.status = 'SUCCESS'), (NEW.status = 'FAILURE'), (NEW.status = 'CANCEL')
    WHERE (NEW.status IN ('SUCCESS', 'FAILURE', 'CANCEL')) AND (OLD.status IS NOT NEW.status OR OLD.finish_time IS NOT NEW.finish_time OR OLD.submit_time IS NOT NEW.submit_time)
    ON CONFLICT (hour) DO UPDATE SET succeeded = succeeded + excluded.succeeded, failed = failed + excluded.failed,
      cancelled = cancelled + excluded.cancelled;
  INSERT INTO stats_channel_days (day, channel_id, tasks, failures)
    SELECT NEW.submit_time / 86400000, NEW.channel_id, 1, (NEW.status = 'FAILURE')
    WHERE (NEW.channel_id IS NOT NULL) AND (OLD.channel_id IS NOT NEW.channel_id OR OLD.submit_time IS NOT NEW.submit_time OR (OLD.status = 'FAILURE') IS NOT (NEW.status = 'FAILURE'))
    ON CONFLICT (day, channel_id) DO UPDATE SET tasks = tasks + excluded.tasks, failures = failures + excluded.failures;
  INSERT INTO stats_action_durations (day, action, bucket, count)
    SELECT COALESCE(NEW.finish_time, NEW.submit_time) / 86400000, NEW.action, CASE WHEN MAX(0, COALESCE(NEW.finish_time, NEW.submit_time) - NEW.submit_time) < 1000 THEN 0 ELSE MIN(57, 1 + CAST(floor(4 * log2(MAX(0, COALESCE(NEW.finish_time, NEW.submit_time) - NEW.submit_time) / 1000.0)) AS INTEGER)) END, 1
    WHERE (NEW.status = 'SUCCESS') AND (OLD.status IS NOT NEW.status OR OLD.finish_time IS NOT NEW.finish_time OR OLD.submit_time IS NOT NEW.submit_time OR OLD.action IS NOT NEW.action)
    ON CONFLICT (day, action, bucket) DO UPDATE SET count = count + excluded.count;
  INSERT INTO stats_user_days (day, user_id, tasks, spent)
    SELECT NEW.submit_time / 86400000, NEW.user_id, 1, NEW.quota * (1 - NEW.refunded) WHERE (OLD.user_id IS NOT NEW.user_id OR OLD.submit_time IS NOT NEW.submit_time OR OLD.quota IS NOT NEW.quota OR OLD.refunded IS NOT NEW.refunded)
    ON CONFLICT (day, user_id) DO UPDATE SET tasks = tasks + excluded.tasks, spent = spent + excluded.spent;
  INSERT INTO stats_users (user_id, tasks, spent)
    SELECT NEW.user_id, 1, NEW.quota * (1 - NEW.refunded) WHERE (OLD.user_id IS NOT NEW.user_id OR OLD.submit_time IS NOT NEW.submit_time OR OLD.quota IS NOT NEW.quota OR OLD.refunded IS NOT NEW.refunded)
    ON CONFLICT (user_id) DO UPDATE SET tasks = tasks + excluded.tasks, spent = spent + excluded.spent;
END;--> statement-breakpoint
INSERT INTO stats_hours (hour, submitted, charged, refunded)
  SELECT submit_time / 3600000, count(*), sum(quota), sum(quota * refunded) FROM tasks WHERE true GROUP BY 1
  ON CONFLICT (hour) DO UPDATE SET submitted = submitted + excluded.submitted, charged = charged + excluded.charged,
    refunded = refunded + excluded.refunded;--> statement-breakpoint
INSERT INTO stats_hours (hour, succeeded, failed, cancelled)
  SELECT COALESCE(tasks.finish_time, tasks.submit_time) / 3600000, sum(status = 'SUCCESS'), sum(status = 'FAILURE'), sum(status = 'CANCEL')
  FROM tasks WHERE tasks.status IN ('SUCCESS', 'FAILURE', 'CANCEL') GROUP BY 1
  ON CONFLICT (hour) DO UPDATE SET succeeded = succeeded + excluded.succeeded, failed = failed + excluded.failed,
    cancelled = cancelled + excluded.cancelled;--> statement-breakpoint
INSERT INTO stats_channel_days (day, channel_id, tasks, failures)
  SELECT submit_time / 86400000, channel_id, count(*), sum(status = 'FAILURE') FROM tasks
  WHERE channel_id IS NOT NULL GROUP BY 1, 2;--> statement-breakpoint
INSERT INTO stats_action_durations (day, action, bucket, count)
  SELECT COALESCE(tasks.finish_time, tasks.submit_time) / 86400000, action, CASE WHEN MAX(0, COALESCE(tasks.finish_time, tasks.submit_time) - tasks.submit_time) < 1000 THEN 0 ELSE MIN(57, 1 + CAST(floor(4 * log2(MAX(0, COALESCE(tasks.finish_time, tasks.submit_time) - tasks.submit_time) / 1000.0)) AS INTEGER)) END, count(*) FROM tasks
  WHERE status = 'SUCCESS' GROUP BY 1, 2, 3;--> statement-breakpoint
INSERT INTO stats_user_days (day, user_id, tasks, spent)
  SELECT submit_time / 86400000, user_id, count(*), sum(quota * (1 - refunded)) FROM tasks WHERE true GROUP BY 1, 2;--> statement-breakpoint
INSERT INTO stats_users (user_id, tasks, spent)
  SELECT user_id, count(*), sum(quota * (1 - refunded)) FROM tasks WHERE true GROUP BY 1;
