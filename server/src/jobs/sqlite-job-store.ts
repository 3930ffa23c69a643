/**
 * The embedded job store: one SQLite file (better-sqlite3, WAL mode). Each job is a row holding
 * its record as JSON plus the columns queries need; every update is one transaction, so a crash
 * leaves the previous or the next state, never half of one.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { JobStore } from './job-store.js';
import type { JobRecord, JobState } from '../api/jobs.js';

export class SqliteJobStore implements JobStore {
  private readonly db: Database.Database;

  constructor(file: string) {
    mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec(`CREATE TABLE IF NOT EXISTS jobs (
      id TEXT PRIMARY KEY,
      state TEXT NOT NULL,
      created_at TEXT NOT NULL,
      record TEXT NOT NULL
    )`);
  }

  insert(job: JobRecord): void {
    this.db.prepare('INSERT INTO jobs (id, state, created_at, record) VALUES (?, ?, ?, ?)').run(job.id, job.state, job.createdAt, JSON.stringify(job));
  }

  get(id: string): JobRecord | undefined {
    const row = this.db.prepare('SELECT record FROM jobs WHERE id = ?').get(id) as { record: string } | undefined;
    return row ? (JSON.parse(row.record) as JobRecord) : undefined;
  }

  list(): JobRecord[] {
    const rows = this.db.prepare('SELECT record FROM jobs ORDER BY created_at DESC, rowid DESC').all() as { record: string }[];
    return rows.map((r) => JSON.parse(r.record) as JobRecord);
  }

  inState(state: JobState): JobRecord[] {
    const rows = this.db.prepare('SELECT record FROM jobs WHERE state = ? ORDER BY created_at, rowid').all(state) as { record: string }[];
    return rows.map((r) => JSON.parse(r.record) as JobRecord);
  }

  update(id: string, patch: Partial<Omit<JobRecord, 'id'>>): JobRecord | undefined {
    return this.db.transaction(() => {
      const current = this.get(id);
      if (!current) return undefined;
      const next: JobRecord = { ...current, ...patch, id };
      this.db.prepare('UPDATE jobs SET state = ?, record = ? WHERE id = ?').run(next.state, JSON.stringify(next), id);
      return next;
    })();
  }

  close(): void {
    this.db.close();
  }
}
