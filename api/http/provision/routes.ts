import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { ProvisionResponseWire } from '../../../domain/provisioning';
import type { ProvisionHandler } from '../../provisioning/handler';
import type { AppEnv } from '../context';
import { json } from '../schemas';

const ProvisionResponse = z
  .object({
    status: z.enum(['SUCCESS', 'NOT_FOUND', 'FAILURE']),
    credentialsType: z.string().optional(),
    credentialsValue: z.unknown().optional(),
    deviceId: z.string().optional(),
    errorMsg: z.string().optional(),
    errorCode: z.string().optional(),
  })
  .openapi('ProvisionResponse');

const provisionRoute = createRoute({
  method: 'post',
  path: '/api/v1/provision',
  tags: ['device provisioning'],
  summary:
    'ThingsBoard-compatible device provisioning with a profile’s provision key and secret (no API key)',
  request: {
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .object({
              deviceName: z.string().optional(),
              provisionDeviceKey: z.string(),
              provisionDeviceSecret: z.string(),
              credentialsType: z.enum(['ACCESS_TOKEN', 'MQTT_BASIC', 'X509_CERTIFICATE', 'CSR']).optional(),
              token: z.string().optional(),
              clientId: z.string().optional(),
              username: z.string().optional(),
              password: z.string().optional(),
              hash: z.string().optional(),
              csr: z.string().optional(),
            })
            .openapi('ProvisionRequest'),
        },
      },
    },
  },
  responses: {
    200: json(ProvisionResponse, 'SUCCESS, or NOT_FOUND / FAILURE with errorMsg and errorCode'),
    400: json(ProvisionResponse, 'The request is not a valid provision request'),
    429: json(ProvisionResponse, 'Rate limited; see Retry-After'),
    503: json(ProvisionResponse, 'Provisioning unavailable; retry later'),
  },
});

function statusOf(answer: ProvisionResponseWire): 200 | 400 | 429 | 503 {
  if (answer.status === 'SUCCESS') return 200;
  if (answer.errorCode === 'PROVISION_BAD_REQUEST') return 400;
  if (answer.errorCode === 'PROVISION_RATE_LIMITED') return 429;
  if (answer.errorCode === 'PROVISION_UNAVAILABLE') return 503;
  return 200;
}

/**
 * `POST /api/v1/provision`: the body is handed to the shared provisioning handler as is (its
 * own validation answers in ThingsBoard's shape, which device code expects even on errors).
 */
export function registerProvisionRoute(app: OpenAPIHono<AppEnv>, provision: ProvisionHandler): void {
  app.post(provisionRoute.path.replace(/{(\w+)}/g, ':$1'), async (c) => {
    const text = await c.req.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // Not JSON: the handler answers FAILURE / PROVISION_BAD_REQUEST.
    }
    // The socket's address: X-Forwarded-For is not trusted, or a client could pick its own bucket.
    const remote = remoteOf(c.env);
    const answer = await provision(body, { transport: 'http', remote });
    const status = statusOf(answer);
    if (status === 429) c.header('retry-after', '10');
    return c.json(answer, status);
  });
  app.openAPIRegistry.registerPath(provisionRoute);
}

function remoteOf(env: unknown): string {
  const incoming = (env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  return incoming?.socket?.remoteAddress ?? 'unknown';
}
