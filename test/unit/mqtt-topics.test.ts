import { describe, expect, it } from 'vitest';
import { devicePublishAllowed, deviceSubscribeAllowed } from '../../api/mqtt/topics';

describe('device topic rules', () => {
  it.each([
    ['v1/devices/me/telemetry', true],
    ['v1/devices/me/attributes/request/1', true],
    ['v1/devices/other/telemetry', false],
    ['v1/devices/me/+', false],
    ['$SYS/broker', false],
    ['v1/devices/me', false],
  ])('publish %s → %s', (topic, ok) => {
    expect(devicePublishAllowed(topic)).toBe(ok);
  });
  it.each([
    ['v1/devices/me/#', true],
    ['v1/devices/me/+/response', true],
    ['v1/devices/me/a#', false],
    ['v1/devices/me/#/x', false],
    ['v1/devices/+/telemetry', false],
    ['#', false],
    ['+/devices/me/x', false],
  ])('subscribe %s → %s', (filter, ok) => {
    expect(deviceSubscribeAllowed(filter)).toBe(ok);
  });
});
