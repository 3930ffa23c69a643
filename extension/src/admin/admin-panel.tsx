/**
 * The "GLMed-SA fine-tuning" panel: the adapter version in use (everyone); for admins, a form
 * to start a job on the site's SEG annotations in the PACS, the jobs with live progress and
 * validation Dice, and the versions with activate / roll back / deactivate. Rendered with Preact
 * inside the viewer's panel (see host-panel.ts).
 */
import type { AdapterInfo, JobRecord } from '@glmedsa/server/api';
import { FINISHED_STATES } from '@glmedsa/server/api';
import { useEffect, useState } from 'preact/hooks';
import { hostPanel } from '../host-panel.js';
import type { AdminController, AdminState } from './admin-controller.js';
import { DEFAULT_FORM, type JobForm } from './job-form.js';
import { dice, eta } from './job-notice.js';

const S = {
  root: { padding: '8px', color: '#d4d4d8', fontSize: '13px', lineHeight: '1.4' },
  row: { display: 'flex', justifyContent: 'space-between', gap: '8px', padding: '2px 0' },
  heading: { marginTop: '10px', fontWeight: 600, color: '#e4e4e7' },
  input: { width: '100%', background: '#111', color: 'inherit', border: '1px solid #3f3f46', borderRadius: '3px', padding: '2px 4px' },
  label: { display: 'block', marginTop: '4px', fontSize: '11px', color: '#a1a1aa' },
  button: { padding: '3px 8px', borderRadius: '4px', background: '#1f3a5f', color: 'white', border: '1px solid #3b6ea5', cursor: 'pointer' },
  card: { marginTop: '6px', padding: '6px', border: '1px solid #27272a', borderRadius: '4px' },
  small: { fontSize: '11px', color: '#a1a1aa' },
  error: { marginTop: '6px', padding: '6px', background: '#3f1d1d', borderRadius: '4px', color: '#fecaca' },
  notice: { marginTop: '6px', fontSize: '12px', color: '#86efac' },
  /** A job that ended without a version (cancelled) is neither good news nor an error. */
  quietNotice: { marginTop: '6px', fontSize: '12px', color: '#d4d4d8' },
};

function activeLine(s: AdminState): string {
  if (s.active === null) return 'base model (no adapter)';
  const v = s.adapters.find((a) => a.version === s.active);
  return `version ${s.active}${v?.metrics.validation.after !== null && v?.metrics.validation.after !== undefined ? ` (validation Dice ${dice(v.metrics.validation.after)})` : ''}`;
}

function JobRow({ job, c, following }: { job: JobRecord; c: AdminController; following: string | undefined }) {
  const p = job.progress;
  const done = FINISHED_STATES.includes(job.state);
  return (
    <div data-glmedsa-admin="job" data-id={job.id} data-state={job.state} data-following={following ?? ''} style={S.card}>
      <div style={S.row}>
        <span title={job.id}>Job {job.id.slice(0, 8)}</span>
        <span data-glmedsa-admin="job-state">
          {job.state}
          {job.state === 'running' ? ` (${job.phase})` : ''}
        </span>
      </div>
      <div style={S.small}>
        <span data-glmedsa-admin="job-step">
          step {p.step}/{p.steps}
        </span>
        , loss {p.loss === null ? '-' : p.loss.toFixed(4)}, ETA {done ? '-' : eta(p.etaSeconds)}
      </div>
      <div style={S.small} data-glmedsa-admin="job-dice">
        validation Dice before {dice(job.validation.before)}, now {dice(job.validation.now)}
      </div>
      {job.adapterVersion !== null ? <div style={S.small}>published version {job.adapterVersion}</div> : null}
      {job.reason ? <div style={S.small} data-glmedsa-admin="job-reason">{job.reason}</div> : null}
      {!done ? (
        <div style={{ ...S.row, marginTop: '4px' }}>
          <span style={S.small}>{following === 'polling' ? 'live (polling)' : following === 'stream' ? 'live' : ''}</span>
          <button data-glmedsa-admin="cancel" style={S.button} onClick={() => void c.cancel(job.id)}>
            Cancel
          </button>
        </div>
      ) : null}
    </div>
  );
}

function VersionRow({ v, s, c }: { v: AdapterInfo; s: AdminState; c: AdminController }) {
  const rollback = s.active !== null && v.version < s.active;
  return (
    <div data-glmedsa-admin="version" data-version={v.version} data-active={String(v.active)} style={S.card}>
      <div style={S.row}>
        <span>
          Version {v.version}
          {v.active ? ' (active)' : ''}
        </span>
        {v.active ? null : (
          <button
            data-glmedsa-admin={rollback ? 'rollback' : 'activate'}
            style={S.button}
            disabled={!v.compatible || s.switching !== null}
            title={v.compatible ? '' : 'Trained on another base model: it cannot be served'}
            onClick={() => void c.activate(v.version)}
          >
            {s.switching === v.version ? 'Switching...' : rollback ? 'Roll back' : 'Activate'}
          </button>
        )}
      </div>
      <div style={S.small}>
        validation Dice {dice(v.metrics.validation.before)} {'->'} {dice(v.metrics.validation.after)}
        {v.metrics.validation.images ? ` on ${v.metrics.validation.images} images` : ''}, {new Date(v.createdAt).toLocaleString()}
        {v.compatible ? '' : ', trained on another base model'}
      </div>
    </div>
  );
}

function Field({ name, label, value, onChange, placeholder }: { name: keyof JobForm; label: string; value: string; onChange: (v: string) => void; placeholder?: string }) {
  return (
    <label style={S.label}>
      {label}
      <input data-glmedsa-admin={`field-${name}`} style={S.input} value={value} placeholder={placeholder ?? ''} onInput={(e) => onChange(e.currentTarget.value)} />
    </label>
  );
}

export function makeAdminPanel(c: AdminController) {
  function GlmedsaAdminPanel() {
    const [s, setS] = useState<AdminState>(c.get());
    const [form, setForm] = useState<JobForm>(DEFAULT_FORM);
    useEffect(() => {
      const off = c.subscribe(setS);
      void c.start();
      return off;
    }, []);
    const field = (name: keyof JobForm) => (v: string) => setForm((f: JobForm) => ({ ...f, [name]: v }));
    const noticeState = s.noticeJob === null ? null : s.jobs.find((j) => j.id === s.noticeJob)?.state ?? null;
    return (
      <div data-glmedsa-admin="panel" data-role={s.role ?? ''} style={S.root}>
        <div style={{ ...S.heading, marginTop: '0', marginBottom: '4px' }}>GLMed-SA fine-tuning</div>
        <div style={S.row}>
          <span>Model</span>
          <span data-glmedsa-admin="model" data-id={s.model ?? ''}>
            {s.modelName ?? s.model ?? '-'}
          </span>
        </div>
        <div style={S.row}>
          <span>Adapter in use</span>
          <span data-glmedsa-admin="active" data-version={s.active === null ? 'base' : String(s.active)}>
            {activeLine(s)}
          </span>
        </div>
        {s.role && s.role !== 'admin' ? <div style={S.small}>Fine-tuning jobs and version changes are for administrators.</div> : null}
        {s.error ? (
          <div data-glmedsa-admin="error" role="alert" style={S.error}>
            {s.error}
          </div>
        ) : null}
        {s.notice ? (
          // data-job-state: the state of the job the notice speaks of ('' for a version switch); a failure reads as one.
          <div data-glmedsa-admin="notice" data-job-state={noticeState ?? ''} role="status" style={noticeState === 'failed' ? S.error : noticeState === 'cancelled' ? S.quietNotice : S.notice}>
            {s.notice}
          </div>
        ) : null}
        {s.role === 'admin' ? (
          <div data-glmedsa-admin="admin">
            <div style={S.heading}>Train on the site's annotations</div>
            <div style={S.small}>SEG series in the PACS; empty filters take all of them.</div>
            <Field name="seriesDescription" label="Series description (* and ? match anything)" value={form.seriesDescription} onChange={field('seriesDescription')} placeholder="all SEG series" />
            <Field name="segmentLabels" label="Segment labels (comma separated)" value={form.segmentLabels} onChange={field('segmentLabels')} placeholder="all segments" />
            <div style={{ display: 'flex', gap: '6px' }}>
              <Field name="studyDateFrom" label="Study date from (YYYYMMDD)" value={form.studyDateFrom} onChange={field('studyDateFrom')} />
              <Field name="studyDateTo" label="to" value={form.studyDateTo} onChange={field('studyDateTo')} />
            </div>
            <div style={{ display: 'flex', gap: '6px' }}>
              <Field name="steps" label="Training steps" value={form.steps} onChange={field('steps')} />
              <Field name="lr" label="Learning rate" value={form.lr} onChange={field('lr')} />
            </div>
            {s.formProblems.length ? (
              <div data-glmedsa-admin="form-error" role="alert" style={S.error}>
                {s.formProblems.some((p) => !/^The server/.test(p)) ? <div>The job was not started; fix these fields:</div> : null}
                {s.formProblems.map((p) => (
                  <div key={p}>{/[.!?]$/.test(p) ? p : `${p}.`}</div>
                ))}
              </div>
            ) : null}
            <div style={{ marginTop: '6px', display: 'flex', gap: '6px' }}>
              <button data-glmedsa-admin="start" style={S.button} disabled={s.submitting} onClick={() => void c.submit(form)}>
                {s.submitting ? 'Starting...' : 'Start fine-tuning'}
              </button>
              <button data-glmedsa-admin="reset" style={S.button} onClick={() => setForm(DEFAULT_FORM)}>
                Defaults
              </button>
            </div>

            <div style={S.heading}>Jobs</div>
            {s.jobs.length === 0 ? <div style={S.small}>No jobs yet.</div> : s.jobs.map((j) => <JobRow key={j.id} job={j} c={c} following={s.following[j.id]} />)}

            <div style={{ ...S.row, ...S.heading }}>
              <span>Adapter versions</span>
              {s.active !== null ? (
                <button data-glmedsa-admin="deactivate" style={S.button} disabled={s.switching !== null} onClick={() => void c.deactivate()}>
                  {s.switching === 'base' ? 'Switching...' : 'Use the base model'}
                </button>
              ) : null}
            </div>
            {s.adapters.length === 0 ? <div style={S.small}>No versions yet: a finished job publishes one.</div> : [...s.adapters].reverse().map((v) => <VersionRow key={v.version} v={v} s={s} c={c} />)}
          </div>
        ) : null}
      </div>
    );
  }
  return hostPanel('admin', () => <GlmedsaAdminPanel />);
}
