import { z } from '@hono/zod-openapi';
import { deviceNameProblem, tagProblem } from '../../domain/device';

/** Shared OpenAPI schemas. Validation messages name the rule, and problems name the field. */
export const ProblemSchema = z
  .object({
    type: z.string(),
    code: z.string().openapi({ example: 'DEVICE_NAME_TAKEN' }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string(),
    requestId: z.string(),
    errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem');

export const problemResponses = {
  400: { description: 'Invalid request', content: { 'application/problem+json': { schema: ProblemSchema } } },
  401: {
    description: 'Missing or bad API key',
    content: { 'application/problem+json': { schema: ProblemSchema } },
  },
  403: {
    description: 'Role not allowed',
    content: { 'application/problem+json': { schema: ProblemSchema } },
  },
} as const;

export const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: ProblemSchema } },
});

export const IdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: 'id', in: 'path' }, example: '0196f1a2-…' }),
});

export const DeviceNameSchema = z.string().superRefine((name, ctx) => {
  const why = deviceNameProblem(name);
  if (why) ctx.addIssue({ code: 'custom', message: why });
});

export const TagSchema = z.string().superRefine((tag, ctx) => {
  const why = tagProblem(tag);
  if (why) ctx.addIssue({ code: 'custom', message: why });
});

export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  required: true,
  content: { 'application/json': { schema } },
});
