import { describe, expect, it } from 'vitest';
import { CertflowError } from '../../domain/errors';
import {
  compilePolicy,
  defaultDevicePolicy,
  isWithin,
  mayPublish,
  maySubscribe,
  parsePolicy,
  type DeviceContext,
  type Policy,
  type PolicyAction,
  type PolicyEffect,
} from '../../domain/policy';

const ctx: DeviceContext = {
  tenant: 't1',
  deviceId: 'd-123',
  deviceName: 'sensor-7',
  attributes: { region: 'eu', floor: 3, indoor: true },
};

const example = parsePolicy({
  version: 1,
  rules: [
    {
      effect: 'allow',
      actions: ['publish'],
      topics: [
        'v1/devices/me/telemetry',
        'v1/devices/me/attributes',
        'tenants/${tenant}/devices/${device.name}/events/#',
      ],
    },
    {
      effect: 'allow',
      actions: ['subscribe'],
      topics: [
        'v1/devices/me/attributes/response/+',
        'v1/devices/me/rpc/request/+',
        'fleet/${attributes.region}/broadcast',
      ],
    },
    {
      effect: 'deny',
      actions: ['publish', 'subscribe'],
      topics: ['tenants/${tenant}/devices/${device.name}/events/secret'],
    },
  ],
  retain: false,
});

type RuleSpec = [PolicyEffect, PolicyAction[], string[]];

function policyOf(rules: RuleSpec[], retain = false): Policy {
  return parsePolicy({
    version: 1,
    rules: rules.map(([effect, actions, topics]) => ({ effect, actions, topics })),
    retain,
  });
}

function compiled(rules: RuleSpec[], context: DeviceContext = ctx, retain = false) {
  return compilePolicy(policyOf(rules, retain), context);
}

const both: PolicyAction[] = ['publish', 'subscribe'];

describe('variable substitution', () => {
  const p = compilePolicy(example, ctx);
  it.each([
    ['v1/devices/me/telemetry', true],
    ['tenants/t1/devices/sensor-7/events/boot', true],
    ['tenants/t1/devices/sensor-7/events', true],
    ['tenants/t2/devices/sensor-7/events/boot', false],
    ['tenants/t1/devices/sensor-8/events/boot', false],
    ['tenants/${tenant}/devices/${device.name}/events/boot', false],
  ])('publish %s → %s', (topic, ok) => {
    expect(mayPublish(p, topic)).toBe(ok);
  });
  it.each([
    ['fleet/eu/broadcast', true],
    ['fleet/us/broadcast', false],
    ['fleet/+/broadcast', false],
    ['v1/devices/me/rpc/request/+', true],
  ])('subscribe %s → %s', (filter, ok) => {
    expect(maySubscribe(p, filter)).toBe(ok);
  });
  const vars = compiled([
    ['allow', ['publish'], ['d/${device.id}/x', 'floor/${attributes.floor}', 'indoor/${attributes.indoor}']],
    ['allow', ['publish'], ['site-${attributes.region}-${device.name}/up']],
  ]);
  it.each([
    ['d/d-123/x', true],
    ['floor/3', true],
    ['indoor/true', true],
    ['site-eu-sensor-7/up', true],
    ['site-us-sensor-7/up', false],
  ])('substitutes ids, numbers, booleans and partial levels: %s → %s', (topic, ok) => {
    expect(mayPublish(vars, topic)).toBe(ok);
  });
});

describe('injection through values never widens a rule', () => {
  const rules: RuleSpec[] = [['allow', both, ['dev/${device.name}/#', '${device.name}', 'x/${device.name}']]];
  it.each(['a/#', '+', '#', '$SYS', 'x/y', '', 'nul\u0000', 'a+b'])(
    'device named %j gets nothing',
    (name) => {
      const p = compiled(rules, { ...ctx, deviceName: name });
      expect(p.publish.allowExact.size + p.publish.allowWild.length).toBe(0);
      expect(p.subscribe.allowExact.size + p.subscribe.allowWild.length).toBe(0);
      for (const probe of ['dev/a/b', 'a', 'x/y', '$SYS/broker/load', 'dev/x']) {
        expect(mayPublish(p, probe)).toBe(false);
      }
      for (const probe of ['dev/#', '#', 'x/+', '$SYS/#']) expect(maySubscribe(p, probe)).toBe(false);
    },
  );
  it.each([
    ['x/#', 'x/#'],
    ['+', 'a'],
    ['$SYS', '$SYS'],
    ['', ''],
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
    [1e21, '1e+21'],
  ])('attribute value %j is unusable', (value, probe) => {
    const p = compiled([['allow', both, ['fleet/${attributes.region}']]], {
      ...ctx,
      attributes: { region: value },
    });
    expect(mayPublish(p, `fleet/${probe}`)).toBe(false);
    expect(maySubscribe(p, 'fleet/+')).toBe(false);
    expect(maySubscribe(p, 'fleet/#')).toBe(false);
  });
  it.each(['missing', '__proto__', 'constructor', 'toString'])('attribute %s absent → unusable', (key) => {
    const p = compiled([['allow', ['publish'], [`k/\${attributes.${key}}`]]], { ...ctx, attributes: {} });
    expect(p.publish.allowExact.size + p.publish.allowWild.length).toBe(0);
  });
  it('refuses a tenant holding a separator', () => {
    const p = compiled([['allow', ['publish'], ['${tenant}/up']]], { ...ctx, tenant: 'a/b' });
    expect(mayPublish(p, 'a/b/up')).toBe(false);
  });
});

describe('deny wins over allow', () => {
  it.each([
    ['tenants/t1/devices/sensor-7/events/secret', false],
    ['tenants/t1/devices/sensor-7/events/public', true],
  ])('publish %s → %s', (topic, ok) => {
    expect(mayPublish(compilePolicy(example, ctx), topic)).toBe(ok);
  });
  it('whatever the rule order', () => {
    const denyFirst = compiled([
      ['deny', ['publish'], ['a/b']],
      ['allow', ['publish'], ['a/#']],
    ]);
    expect(mayPublish(denyFirst, 'a/b')).toBe(false);
    expect(mayPublish(denyFirst, 'a/c')).toBe(true);
  });
  it('applies only to the actions it names', () => {
    const p = compiled([
      ['allow', both, ['a/#']],
      ['deny', ['subscribe'], ['a/b']],
    ]);
    expect(mayPublish(p, 'a/b')).toBe(true);
    expect(maySubscribe(p, 'a/b')).toBe(false);
  });
  const rules: RuleSpec[] = [
    ['allow', ['publish'], ['fleet/#']],
    ['deny', ['publish'], ['fleet/${attributes.region}/admin']],
  ];
  it.each([
    [{ region: 'eu' }, 'fleet/eu/admin', false],
    [{ region: 'eu' }, 'fleet/us/admin', true],
    [{}, 'fleet/eu/admin', false],
    [{}, 'fleet/us/admin', false],
    [{ region: 'x/#' }, 'fleet/us/admin', false],
    [{}, 'fleet/eu/data', true],
  ])('a deny whose variable is unusable widens to "+": %j %s → %s', (attributes, topic, ok) => {
    expect(mayPublish(compiled(rules, { ...ctx, attributes }), topic)).toBe(ok);
  });
  const sub = compiled([
    ['allow', ['subscribe'], ['a/#']],
    ['deny', ['subscribe'], ['a/b/secret']],
  ]);
  it.each([
    ['a/#', false],
    ['a/b/+', false],
    ['a/+/secret', false],
    ['a/b/#', false],
    ['a/b/secret', false],
    ['a/b/public', true],
    ['a/c/#', true],
    ['a/b', true],
    ['a', true],
  ])('subscribe %s overlapping a deny → %s', (filter, ok) => {
    expect(maySubscribe(sub, filter)).toBe(ok);
  });
});

describe('subscribe filters must be a subset of one allow pattern', () => {
  it.each([
    ['a/+/c', 'a/b/c', true],
    ['a/+/c', 'a/+/c', true],
    ['a/+/c', 'a/#', false],
    ['a/+/c', '+/+/c', false],
    ['a/+/c', 'a/b', false],
    ['a/+/c', 'a/b/c/d', false],
    ['a/+/c', 'a/b/+', false],
    ['a/+/c', 'a/+/#', false],
    ['a/+/c', '#', false],
    ['a/#', 'a', true],
    ['a/#', 'a/b', true],
    ['a/#', 'a/b/#', true],
    ['a/#', 'a/+/+', true],
    ['a/#', 'a/#', true],
    ['a/#', 'a/', true],
    ['a/#', '#', false],
    ['a/#', '+/b', false],
    ['a/#', 'b/#', false],
    ['#', '#', true],
    ['#', '+/#', true],
    ['#', '+', true],
    ['a/b', 'a/b', true],
    ['a/b', 'a/+', false],
    ['a/b', 'a/b/#', false],
    ['a/b', 'a/#', false],
    ['a/b', 'a/b/', false],
    ['+', 'a', true],
    ['+', '+', true],
    ['+', 'a/b', false],
    ['+', '#', false],
    ['+', '', false],
    ['a//b', 'a//b', true],
    ['a//b', 'a/+/b', false],
    ['a/+/b', 'a//b', true],
    ['+/+', '/', true],
    ['a/+', 'a/b#', false],
    ['a/+', 'a/b+', false],
    ['#', 'a/#/b', false],
    ['#', '$SYS/#', false],
    ['#', '$SYS/broker/load', false],
    ['#', '$share/g/a/b', false],
    ['g/#', '$share/grp/g/a', false],
    ['#', `a/${'x'.repeat(300)}`, false],
    ['#', Array(17).fill('a').join('/'), false],
    ['#', `${Array(15).fill('a').join('/')}/#`, true],
    ['#', 'a/\u0000', false],
  ])('pattern %s, filter %j → %s', (pattern, filter, ok) => {
    expect(maySubscribe(compiled([['allow', ['subscribe'], [pattern]]]), filter)).toBe(ok);
  });
  it('needs one pattern that covers the whole filter (conservative)', () => {
    const p = compiled([['allow', ['subscribe'], ['a', 'a/+/#']]]);
    expect(maySubscribe(p, 'a')).toBe(true);
    expect(maySubscribe(p, 'a/b')).toBe(true);
    expect(maySubscribe(p, 'a/#')).toBe(false);
  });
});

describe('subscribe decisions against brute-force enumeration', () => {
  // Every filter of up to three levels over {a, b, "", +, #}, checked against every topic of up to
  // four levels over {a, b, "", z}: what mayPublish says a pattern matches is the ground truth.
  const levels = (depth: number, alphabet: string[]): string[] => {
    const out: string[] = [];
    let prefixes: string[][] = [[]];
    for (let d = 0; d < depth; d++) {
      prefixes = prefixes.flatMap((p) => alphabet.map((x) => [...p, x]));
      out.push(...prefixes.map((p) => p.join('/')));
    }
    return out;
  };
  const filters = levels(3, ['a', 'b', '', '+', '#']).filter(
    (f) => f !== '' && !f.slice(0, -1).includes('#'),
  );
  const topics = levels(4, ['a', 'b', '', 'z']).filter((t) => t !== '');
  const matched = new Map(
    filters.map((f) => {
      const p = compiled([['allow', ['publish'], [f]]]);
      return [f, new Set(topics.filter((t) => mayPublish(p, t)))];
    }),
  );
  const topicsOf = (f: string) => matched.get(f) ?? new Set<string>();
  it('grants a filter only when the pattern matches all its topics', () => {
    for (const pattern of filters) {
      const p = compiled([['allow', ['subscribe'], [pattern]]]);
      for (const filter of filters) {
        if (!maySubscribe(p, filter)) continue;
        for (const t of topicsOf(filter))
          expect(topicsOf(pattern).has(t), `${pattern} ⊇ ${filter}: ${t}`).toBe(true);
      }
    }
  });
  it('refuses every filter that shares a topic with a deny', () => {
    for (const deny of filters) {
      const p = compiled([
        ['allow', ['subscribe'], ['#']],
        ['deny', ['subscribe'], [deny]],
      ]);
      for (const filter of filters) {
        const overlaps = [...topicsOf(filter)].some((t) => topicsOf(deny).has(t));
        if (overlaps) expect(maySubscribe(p, filter), `${deny} ∩ ${filter}`).toBe(false);
      }
    }
  });
});

describe('publish topics', () => {
  const p = compiled([['allow', ['publish'], ['#']]]);
  it.each([
    ['a', true],
    ['/', true],
    ['a//b', true],
    ['a/$b', true],
    ['$SYS/broker', false],
    ['$share/g/a', false],
    ['a/+', false],
    ['a/#', false],
    ['a/b+', false],
    ['', false],
    ['a\u0000b', false],
    ['x'.repeat(256), true],
    ['x'.repeat(257), false],
    [Array(16).fill('a').join('/'), true],
    [Array(17).fill('a').join('/'), false],
  ])('%j → %s', (topic, ok) => {
    expect(mayPublish(p, topic)).toBe(ok);
  });
  it('matches empty levels exactly', () => {
    const q = compiled([['allow', ['publish'], ['a//b', 'c/+/d']]]);
    expect(mayPublish(q, 'a//b')).toBe(true);
    expect(mayPublish(q, 'a/x/b')).toBe(false);
    expect(mayPublish(q, 'c//d')).toBe(true);
  });
  it('allows nothing without a rule for the action', () => {
    const q = compiled([['allow', ['subscribe'], ['#']]]);
    expect(mayPublish(q, 'a')).toBe(false);
  });
});

describe('retain', () => {
  it.each([
    [false, undefined, true],
    [false, false, true],
    [false, true, false],
    [true, true, true],
  ])('policy retain %s, message retain %s → %s', (policyRetain, retain, ok) => {
    const p = compiled([['allow', ['publish'], ['a']]], ctx, policyRetain);
    expect(mayPublish(p, 'a', retain === undefined ? undefined : { retain })).toBe(ok);
  });
  it('still needs an allow when retain is permitted', () => {
    const p = compiled([['allow', ['publish'], ['a']]], ctx, true);
    expect(mayPublish(p, 'b', { retain: true })).toBe(false);
  });
});

describe('parsePolicy', () => {
  const ok = { effect: 'allow', actions: ['publish'], topics: ['a'] };
  const withTopics = (...topics: unknown[]) => ({ version: 1, rules: [{ ...ok, topics }] });
  it.each([
    ['x', 'policy: must be a JSON object'],
    [[], 'policy: must be a JSON object'],
    [{ version: 2, rules: [] }, 'version: must be 1'],
    [{ rules: [] }, 'version: must be 1'],
    [{ version: 1 }, 'rules: must be an array'],
    [{ version: 1, rules: [], retain: 'yes' }, 'retain: must be true or false'],
    [{ version: 1, rules: [], extra: 1 }, 'extra: is not a policy field'],
    [
      { version: 1, rules: [ok, ok, { ...ok, topics: ['#/a'] }] },
      'rules.2.topics.0: "#" must be the last level',
    ],
    [withTopics('a', 'a/b#'), 'rules.0.topics.1: "#" must be a whole level'],
    [withTopics('a/b+'), 'rules.0.topics.0: "+" must be a whole level'],
    [withTopics('$SYS/#'), 'rules.0.topics.0: "$" topics are reserved'],
    [withTopics('$share/g/a'), '"$" topics are reserved'],
    [withTopics(''), 'rules.0.topics.0: must not be empty'],
    [withTopics('a\u0000'), 'must not contain NUL'],
    [withTopics('a/${device.nam}'), 'rules.0.topics.0: unknown variable "${device.nam}"'],
    [withTopics('a/${attributes.}'), 'unknown variable'],
    [withTopics('a/${tenant'), 'is not closed'],
    [withTopics(Array(17).fill('a').join('/')), 'at most 16 levels'],
    [withTopics('x'.repeat(257)), 'at most 256 characters'],
    [withTopics(42), 'rules.0.topics.0: must be a string'],
    [withTopics(), 'rules.0.topics: must list at least one topic'],
    [{ version: 1, rules: [{ ...ok, actions: ['read'] }] }, 'rules.0.actions.0: must be "publish" or'],
    [{ version: 1, rules: [{ ...ok, actions: [] }] }, 'rules.0.actions: must name at least one'],
    [{ version: 1, rules: [{ ...ok, effect: 'permit' }] }, 'rules.0.effect: must be "allow" or "deny"'],
    [{ version: 1, rules: [{ ...ok, qos: 1 }] }, 'rules.0.qos: is not a rule field'],
    [{ version: 1, rules: ['a'] }, 'rules.0: must be an object'],
    [{ version: 1, rules: Array(65).fill(ok) }, 'rules: must hold at most 64'],
  ])('refuses %j naming the path', (json, message) => {
    expect(() => parsePolicy(json)).toThrow(message);
  });
  it('reports every problem with a stable code and field paths', () => {
    try {
      parsePolicy({ version: 1, rules: [{ ...ok, effect: 'x', topics: ['a/#/b'] }] });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(CertflowError);
      const err = e as CertflowError;
      expect(err.code).toBe('VALIDATION_FAILED');
      expect(err.fieldErrors.map((f) => f.field)).toEqual(['rules.0.effect', 'rules.0.topics.0']);
    }
  });
  it.each([null, undefined, {}])('gives the default policy for %j', (json) => {
    expect(parsePolicy(json)).toBe(defaultDevicePolicy);
  });
  it('normalises a valid policy', () => {
    expect(parsePolicy({ version: 1, rules: [{ ...ok, topics: ['${tenant}/x', 'a/$b'] }] })).toEqual({
      version: 1,
      rules: [{ effect: 'allow', actions: ['publish'], topics: ['${tenant}/x', 'a/$b'] }],
      retain: false,
    });
  });
  it('is what compilePolicy enforces too', () => {
    const bad = { version: 1, rules: [{ ...ok, topics: ['#/a'] }], retain: false } as Policy;
    expect(() => compilePolicy(bad, ctx)).toThrow('"#" must be the last level');
  });
});

describe('isWithin', () => {
  const ceiling = policyOf([
    ['allow', ['publish'], ['tenants/${tenant}/#', 'up/+/x', 'v1/devices/me/telemetry']],
    ['allow', ['subscribe'], ['down/${device.name}/#']],
    ['deny', ['publish'], ['tenants/${tenant}/secret']],
  ]);
  const keepDeny: RuleSpec = ['deny', ['publish'], ['tenants/${tenant}/secret']];
  it.each<[string, RuleSpec[], boolean]>([
    ['nothing', [], true],
    ['a narrower literal', [['allow', ['publish'], ['v1/devices/me/telemetry']], keepDeny], true],
    [
      'a variable under the same variable',
      [['allow', ['publish'], ['tenants/${tenant}/d/${device.id}']], keepDeny],
      true,
    ],
    ['a variable under "+"', [['allow', ['publish'], ['up/${device.name}/x']]], true],
    ['"+" under a variable', [['allow', ['publish'], ['tenants/+/a']], keepDeny], false],
    ['another variable', [['allow', ['publish'], ['tenants/${device.id}/a']], keepDeny], false],
    ['a wider filter', [['allow', ['publish'], ['up/#']]], false],
    ['another action', [['allow', ['subscribe'], ['v1/devices/me/telemetry']]], false],
    ['a dropped ceiling deny', [['allow', ['publish'], ['tenants/${tenant}/#']]], false],
    ['a kept ceiling deny', [['allow', ['publish'], ['tenants/${tenant}/#']], keepDeny], true],
    [
      'a wider deny',
      [
        ['allow', ['publish'], ['tenants/${tenant}/#']],
        ['deny', ['publish'], ['tenants/#']],
      ],
      true,
    ],
    [
      'a deny on the other action only',
      [
        ['allow', ['publish'], ['tenants/${tenant}/#']],
        ['deny', ['subscribe'], ['tenants/${tenant}/secret']],
      ],
      false,
    ],
    ['allows disjoint from the ceiling deny', [['allow', ['publish'], ['tenants/${tenant}/public']]], true],
    ['subscribe under the class', [['allow', ['subscribe'], ['down/${device.name}/cmd']]], true],
  ])('%s → %s', (_, rules, ok) => {
    expect(isWithin(policyOf(rules), ceiling)).toBe(ok);
  });
  it('treats a deny with variables as overlapping anything', () => {
    const k = policyOf([
      ['allow', ['publish'], ['a/#']],
      ['deny', ['publish'], ['a/${device.name}']],
    ]);
    expect(isWithin(policyOf([['allow', ['publish'], ['a/x']]]), k)).toBe(false);
    expect(isWithin(policyOf([['allow', ['publish'], ['a/x/y']]]), k)).toBe(true);
  });
  it('keeps retain within the ceiling', () => {
    const rules: RuleSpec[] = [['allow', ['publish'], ['a']]];
    expect(isWithin(policyOf(rules, true), policyOf(rules, false))).toBe(false);
    expect(isWithin(policyOf(rules, false), policyOf(rules, true))).toBe(true);
  });
  it('reads {} as the default policy', () => {
    expect(isWithin({} as Policy, defaultDevicePolicy)).toBe(true);
    expect(isWithin(defaultDevicePolicy, example)).toBe(false);
    expect(
      isWithin(policyOf([['allow', ['subscribe'], ['v1/devices/me/rpc/request/+']]]), defaultDevicePolicy),
    ).toBe(true);
  });
});

describe('default device policy (ThingsBoard device API)', () => {
  const p = compilePolicy(parsePolicy({}), ctx);
  it.each([
    'v1/devices/me/telemetry',
    'v1/devices/me/attributes',
    'v1/devices/me/attributes/request/1',
    'v1/devices/me/rpc/response/5',
    'v1/devices/me/rpc/request/7',
    'v1/devices/me/claim',
  ])('publishes %s', (topic) => {
    expect(mayPublish(p, topic)).toBe(true);
  });
  it.each([
    'v1/devices/me/attributes',
    'v1/devices/me/attributes/response/+',
    'v1/devices/me/attributes/response/3',
    'v1/devices/me/rpc/request/+',
    'v1/devices/me/rpc/response/+',
  ])('subscribes %s', (filter) => {
    expect(maySubscribe(p, filter)).toBe(true);
  });
  it.each([
    ['publish', 'v1/devices/other/telemetry'],
    ['publish', 'v1/devices/sensor-7/telemetry'],
    ['publish', 'v1/devices/me/rpc/request/+'],
    ['publish', 'v1/devices/me/attributes/request/1/2'],
    ['publish', 'v1/gateway/telemetry'],
    ['subscribe', 'v1/devices/me/#'],
    ['subscribe', 'v1/devices/+/rpc/request/+'],
    ['subscribe', 'v1/devices/other/rpc/request/+'],
    ['subscribe', 'v1/devices/me/telemetry'],
    ['subscribe', '#'],
  ])('refuses %s %s', (action, topic) => {
    expect(action === 'publish' ? mayPublish(p, topic) : maySubscribe(p, topic)).toBe(false);
  });
  it('cannot be mutated by a caller', () => {
    expect(Object.isFrozen(defaultDevicePolicy.rules[0]?.topics)).toBe(true);
  });
});
