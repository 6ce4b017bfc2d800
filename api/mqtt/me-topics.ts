/**
 * ThingsBoard's device API speaks of `v1/devices/me/…`: "me" is whoever is connected. The
 * broker's topic tree is shared, so the literal topic would let every device hear every other
 * device. Each device's `me` topics are therefore stored under a private internal prefix with
 * its id, and shown back to it as `me` on delivery. The internal prefix starts with `$`, which
 * no device may use and which `#`/`+` never match.
 */
export const ME_PREFIX = 'v1/devices/me/';
const ME = 'v1/devices/me';
const INTERNAL = '$certflow/devices/';

export function toInternal(topic: string, deviceId: string): string {
  if (topic === ME) return `${INTERNAL}${deviceId}`;
  return topic.startsWith(ME_PREFIX) ? `${INTERNAL}${deviceId}/${topic.slice(ME_PREFIX.length)}` : topic;
}

/**
 * The topic as the receiving device must see it, or undefined when the message is another
 * device's private `me` traffic (never delivered).
 */
export function toDevice(topic: string, deviceId: string | undefined): string | undefined {
  if (!topic.startsWith(INTERNAL)) return topic;
  if (!deviceId) return undefined;
  if (topic === `${INTERNAL}${deviceId}`) return ME;
  const own = `${INTERNAL}${deviceId}/`;
  return topic.startsWith(own) ? `${ME_PREFIX}${topic.slice(own.length)}` : undefined;
}

/** MQTT client ids: bounded, printable, and free of topic syntax (they appear in topics and logs). */
export function clientIdProblem(clientId: string): string | undefined {
  if (clientId.length > 128) return 'longer than 128 characters';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(clientId)) return 'contains control characters';
  if (/[+#/$]/.test(clientId)) return 'contains + # / or $';
  return undefined;
}
