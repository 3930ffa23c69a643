/** GET /v1/whoami: who the server takes the caller for, so that a client shows only what it may do. */
import { z } from 'zod';

export const ROLES = ['viewer', 'annotator', 'admin'] as const;
export const RoleSchema = z.enum(ROLES);
export type Role = z.infer<typeof RoleSchema>;

export const WhoamiResponseSchema = z.object({
  name: z.string(),
  role: RoleSchema,
  /** How the caller was recognised ('anonymous' when the server requires no authentication). */
  via: z.enum(['api-key', 'oidc', 'anonymous']),
  /** Whether the server requires authentication at all. */
  authRequired: z.boolean(),
});
export type WhoamiResponse = z.infer<typeof WhoamiResponseSchema>;
