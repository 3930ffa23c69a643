/**
 * Validation problems as sentences that say what is expected ("image.frame must be a whole number
 * from 1 to 100000"), for the server's 400 answers and for clients checking a request before
 * sending it. Schemas carry their own phrases where the type alone does not say enough; zod's
 * generic messages are rephrased from the issue's code; for a union, the branch the client
 * evidently meant is reported, not "Invalid input".
 */
import type { z } from 'zod';

type Issue = z.core.$ZodIssue;

/** One problem: where it is (dotted path, '' for the whole body) and what is expected there. */
export interface FieldProblem {
  path: string;
  message: string;
}

/** A zod error function for a schema: its type/value problems say `must be <what>`. */
export function expects(what: string): (issue: z.core.$ZodRawIssue) => string | undefined {
  return (issue) => {
    if (issue.code === 'unrecognized_keys') return undefined;
    return issue.input === undefined && issue.code === 'invalid_type' ? `is required: ${what}` : `must be ${what}`;
  };
}

/** A zod error function for a strict object: unknown fields are named, anything else says what it must be. */
export function objectOf(what: string): (issue: z.core.$ZodRawIssue) => string | undefined {
  return (issue) => {
    if (issue.code === 'unrecognized_keys') return unknownKeys(issue.keys);
    return issue.input === undefined && issue.code === 'invalid_type' ? `is required: ${what}` : `must be ${what}`;
  };
}

function unknownKeys(keys: readonly string[]): string {
  const shown = keys.slice(0, 5).map((k) => `'${k.slice(0, 40)}'`);
  return keys.length === 1 ? `has an unknown field ${shown[0]}` : `has unknown fields ${shown.join(', ')}${keys.length > 5 ? ', ...' : ''}`;
}

/** zod's own English messages, which say what failed but not what is expected. */
const GENERIC = /^(Invalid|Too (big|small)|Unrecognized key)/;

const ARTICLE: Record<string, string> = { object: 'an object', array: 'a list', int: 'a whole number', integer: 'a whole number', undefined: 'absent' };

function typeName(expected: string): string {
  return ARTICLE[expected] ?? (/^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`);
}

function bound(issue: { origin?: string; inclusive?: boolean }, n: number | bigint, big: boolean): string {
  const cmp = big ? (issue.inclusive === false ? 'less than' : 'at most') : issue.inclusive === false ? 'more than' : 'at least';
  switch (issue.origin) {
    case 'string':
      return `must have ${cmp} ${n} characters`;
    case 'array':
    case 'set':
      return `must have ${cmp} ${n} items`;
    case 'int':
      return `must be a whole number ${cmp} ${n}`;
    default:
      return `must be ${cmp} ${n}`;
  }
}

/** What is expected, for an issue with a generic message. */
function phrase(issue: Issue): string {
  if (!GENERIC.test(issue.message)) return issue.message;
  switch (issue.code) {
    case 'invalid_type':
      return /received undefined$/.test(issue.message) ? 'is required' : `must be ${typeName(issue.expected)}`;
    case 'too_big':
      // The safe-integer limit of .int() is not a limit anyone set: say what the type is.
      if (issue.origin === 'int' && Number(issue.maximum) === Number.MAX_SAFE_INTEGER) return 'must be a whole number';
      return bound(issue, issue.maximum, true);
    case 'too_small':
      if (issue.origin === 'int' && Number(issue.minimum) === Number.MIN_SAFE_INTEGER) return 'must be a whole number';
      return bound(issue, issue.minimum, false);
    case 'unrecognized_keys':
      return unknownKeys(issue.keys);
    case 'invalid_value':
      return issue.values.length === 1 ? `must be ${JSON.stringify(issue.values[0])}` : `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_format':
      return issue.format === 'regex' ? 'has the wrong format' : `must be a valid ${issue.format}`;
    case 'not_multiple_of':
      return `must be a multiple of ${issue.divisor}`;
    case 'invalid_key':
      return 'has a key that is not allowed';
    case 'invalid_element':
      return 'has an element that is not allowed';
    case 'invalid_union':
      return 'is not in any of the accepted forms';
    default:
      return issue.message;
  }
}

/**
 * Whether what was sent has the shape of a union branch: problems with the value's own type or its
 * set of fields mean the client was not writing this branch at all; problems inside its fields
 * mean it was, with a mistake.
 */
function fits(branch: readonly Issue[]): boolean {
  return !branch.some((i) => i.path.length === 0 && (i.code === 'invalid_type' || i.code === 'unrecognized_keys'));
}

function closestByFields(branches: readonly (readonly Issue[])[]): readonly Issue[] | null {
  const scored: { b: readonly Issue[]; n: number }[] = [];
  for (const b of branches) {
    if (b.some((i) => i.path.length === 0 && i.code === 'invalid_type')) return null; // not even an object
    const n = b.reduce((sum, i) => sum + (i.path.length === 0 && i.code === 'unrecognized_keys' ? i.keys.length : 0), 0);
    scored.push({ b, n });
  }
  scored.sort((x, y) => x.n - y.n);
  return scored.length > 1 && scored[0]!.n < scored[1]!.n ? scored[0]!.b : null;
}

function flatten(issues: readonly Issue[], base: readonly PropertyKey[], out: { path: PropertyKey[]; issue: Issue }[]): void {
  for (const issue of issues) {
    const path = [...base, ...issue.path];
    if (issue.code === 'invalid_union' && 'errors' in issue && issue.errors.length > 0) {
      // The client meant a branch when it is the only one whose shape fits what was sent.
      const fitting = issue.errors.filter(fits);
      if (fitting.length === 1) {
        flatten(fitting[0]!, path, out);
        continue;
      }
      // An object that mixes branches: the one it has the fewest foreign fields for.
      if (fitting.length === 0) {
        const closest = closestByFields(issue.errors);
        if (closest) {
          flatten(closest, path, out);
          continue;
        }
      }
    }
    out.push({ path, issue });
  }
}

/** The problems of a failed parse, each with the path and a phrase of what is expected. */
export function fieldProblems(issues: readonly Issue[], prefix = ''): FieldProblem[] {
  const flat: { path: PropertyKey[]; issue: Issue }[] = [];
  flatten(issues, [], flat);
  return flat.map(({ path, issue }) => ({
    path: [prefix, ...path.map(String)].filter(Boolean).join('.'),
    message: phrase(issue),
  }));
}

const VERB = /^(must|is|are|has|have|needs|cannot|should|does)\b/;

/** "image.frame must be ...", or "path: message" for messages that are not phrased after a field. */
export function sentence(p: FieldProblem): string {
  const subject = p.path === '' ? 'the request body' : p.path;
  return VERB.test(p.message) ? `${subject} ${p.message}` : `${subject}: ${p.message}`;
}
