/** Small helpers for parsing command-line values with messages a user can act on. */

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function requireString(value: string | undefined, flag: string): string {
  if (value === undefined || value === '') throw new UsageError(`${flag} is required`);
  return value;
}

export function parseNumberList(value: string, flag: string, count: number): number[] {
  const parts = value.split(',').map((s) => s.trim());
  const nums = parts.map(Number);
  if (parts.length !== count || nums.some((n, i) => parts[i] === '' || !Number.isFinite(n))) {
    throw new UsageError(`${flag} expects ${count} comma-separated numbers, got '${value}'`);
  }
  return nums;
}

export function parseInteger(value: string | undefined, flag: string, fallback?: number, min = -Infinity, max = Infinity): number {
  if (value === undefined) {
    if (fallback === undefined) throw new UsageError(`${flag} is required`);
    return fallback;
  }
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`${flag} expects an integer${Number.isFinite(min) ? ` >= ${min}` : ''}${Number.isFinite(max) ? ` <= ${max}` : ''}, got '${value}'`);
  }
  return n;
}

export function parseFloatArg(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new UsageError(`${flag} expects a number, got '${value}'`);
  return n;
}

export function parseChoice<T extends string>(value: string | undefined, flag: string, choices: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!choices.includes(value as T)) throw new UsageError(`${flag} must be one of ${choices.join(', ')}, got '${value}'`);
  return value as T;
}
