/**
 * The admin panel's job form: what the fields hold (text, as typed), their defaults, and the
 * POST /v1/jobs body they make, checked with the API module's own schema so that the admin reads
 * the server's sentences before sending anything.
 */
import { DEFAULT_HYPERPARAMETERS, DEFAULT_STEPS, type PacsJobRequestInput, PacsJobRequestSchema, fieldProblems, sentence } from '@glmedsa/server/api';

export interface JobForm {
  /** QIDO series description, * and ? wildcards; empty: every SEG series. */
  seriesDescription: string;
  /** Segment labels, comma separated; empty: every segment. */
  segmentLabels: string;
  /** Study dates as YYYY-MM-DD (a date input) or YYYYMMDD; empty: open. */
  studyDateFrom: string;
  studyDateTo: string;
  steps: string;
  lr: string;
}

export const DEFAULT_FORM: JobForm = {
  seriesDescription: '',
  segmentLabels: '',
  studyDateFrom: '',
  studyDateTo: '',
  steps: String(DEFAULT_STEPS),
  lr: String(DEFAULT_HYPERPARAMETERS.lr),
};

const dicomDate = (s: string) => (/^\d{4}-\d{2}-\d{2}$/.test(s.trim()) ? s.trim().replaceAll('-', '') : s.trim());

/** A number as typed ('' and words stay what they are, so the schema names them). */
function numberOf(s: string): number | string {
  const t = s.trim();
  return t !== '' && Number.isFinite(Number(t)) ? Number(t) : t;
}

/** The request the form makes, or the sentences saying what to fix. */
export function jobRequest(form: JobForm): { body: PacsJobRequestInput; problems: null } | { body: null; problems: string[] } {
  const labels = form.segmentLabels
    .split(',')
    .map((l) => l.trim())
    .filter(Boolean);
  const from = dicomDate(form.studyDateFrom);
  const to = dicomDate(form.studyDateTo);
  const candidate = {
    dataset: {
      source: 'pacs',
      ...(form.seriesDescription.trim() ? { seriesDescription: form.seriesDescription.trim() } : {}),
      ...(labels.length ? { segmentLabels: labels } : {}),
      ...(from || to ? { studyDate: { ...(from ? { from } : {}), ...(to ? { to } : {}) } } : {}),
    },
    hyperparameters: { steps: numberOf(form.steps), lr: numberOf(form.lr) },
  };
  const parsed = PacsJobRequestSchema.safeParse(candidate);
  if (parsed.success) return { body: candidate as PacsJobRequestInput, problems: null };
  const seen = new Set<string>();
  const problems = fieldProblems(parsed.error.issues)
    .map((p) => {
      const path = p.path.replace(/^(hyperparameters|dataset)\./, '');
      // The hyperparameters' messages name their field already ('steps must be at least 1').
      return p.message.startsWith(`${path.split('.').at(-1)} `) ? p.message : sentence({ ...p, path });
    })
    .filter((s) => !seen.has(s) && seen.add(s));
  return { body: null, problems };
}
