/** The ThingsBoard-style provisioning request; the baseline gets the same body. */
export function provisionBody(deviceName: string, key: string, secret: string) {
  return { deviceName, provisionDeviceKey: key, provisionDeviceSecret: secret };
}

/**
 * One HTTP provisioning request through Node's fetch (undici, keep-alive pool), as the same
 * client loop for certflow and the empty-handler baseline; throws unless 200 and SUCCESS.
 */
export async function postProvision(url: string, body: unknown): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = (await res.json()) as { status?: string; errorCode?: string };
  if (res.status !== 200 || answer.status !== 'SUCCESS')
    throw new Error(`HTTP ${res.status} ${answer.status ?? ''} ${answer.errorCode ?? ''}`);
}
