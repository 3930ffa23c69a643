/** Reading a JSON file validated by a zod schema, with errors that name the file and the field. */
import { promises as fs } from 'node:fs';
import type { z } from 'zod';

function describeIssues(error: z.ZodError): string {
  const issues = error.issues.slice(0, 8).map((i) => `${i.path.length ? i.path.map(String).join('.') : '(root)'}: ${i.message}`);
  if (error.issues.length > 8) issues.push(`and ${error.issues.length - 8} more`);
  return issues.join('; ');
}

/**
 * Parses `file` with `schema`. `what` names the document ("model manifest"); `missing` is the
 * sentence for a file that does not exist (e.g. how to make one).
 */
export async function readJsonFile<S extends z.ZodTypeAny>(file: string, schema: S, what: string, missing?: string): Promise<z.infer<S>> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && missing) throw new Error(missing);
    throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new Error(`${file} is not a valid ${what}: ${describeIssues(parsed.error)}`);
  return parsed.data as z.infer<S>;
}
