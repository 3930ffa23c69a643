/** The shape of every v1 error answer (application/problem+json, RFC 9457). */
import { z } from 'zod';

export const PROBLEM_MEDIA_TYPE = 'application/problem+json';

export const ProblemSchema = z.object({
  /** `urn:glmedsa:problem:<code>` for errors with a stable code, else `about:blank`. */
  type: z.string(),
  title: z.string(),
  status: z.number().int().min(400).max(599),
  /** A sentence a person can act on. */
  detail: z.string(),
  /** Field path -> problem, for invalid requests. */
  fields: z.record(z.string(), z.string()).optional(),
  /** Quote it when reporting a problem: the server's log has the details under it. */
  requestId: z.string().optional(),
});

export type Problem = z.infer<typeof ProblemSchema>;

/** The stable code of a problem (`pacs-timeout`, `not-an-image`, ...), or null when it has none. */
export function problemCode(p: Pick<Problem, 'type'>): string | null {
  const prefix = 'urn:glmedsa:problem:';
  return p.type.startsWith(prefix) ? p.type.slice(prefix.length) : null;
}
