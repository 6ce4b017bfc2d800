/**
 * Topic authorisation for authenticated devices. Until device classes carry full policies, a
 * device may use only its own `v1/devices/me/…` topics (ThingsBoard's device API), which the
 * broker scopes to the connection: no wildcards that escape it, no `$SYS`.
 */
export const DEVICE_TOPIC_PREFIX = 'v1/devices/me/';

export function devicePublishAllowed(topic: string): boolean {
  return topic.startsWith(DEVICE_TOPIC_PREFIX) && !/[+#]/.test(topic) && topic.length <= 256;
}

export function deviceSubscribeAllowed(filter: string): boolean {
  if (!filter.startsWith(DEVICE_TOPIC_PREFIX) || filter.length > 256) return false;
  // Wildcards only below the prefix, as whole levels.
  const levels = filter.slice(DEVICE_TOPIC_PREFIX.length).split('/');
  return levels.every((l, i) => (l === '#' ? i === levels.length - 1 : l === '+' || !/[+#]/.test(l)));
}
