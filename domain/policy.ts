/**
 * Least-privilege MQTT topic policies, the JSON a device class carries: validation, the
 * ThingsBoard-compatible default, the ceiling check, and the compiled form the broker consults
 * on every PUBLISH, SUBSCRIBE and will. Pure: no clock, no I/O, no regular expression per call.
 * Format and reasons: docs/policies.md.
 *
 * One file on purpose although it is longer than most: the validator, the matcher and the
 * ceiling check share one notion of a topic pattern, and a drift between them is a hole.
 */
import { CertflowError, type FieldError } from './errors';

export const policyActions = ['publish', 'subscribe'] as const;
export type PolicyAction = (typeof policyActions)[number];
export type PolicyEffect = 'allow' | 'deny';

export interface PolicyRule {
  effect: PolicyEffect;
  actions: PolicyAction[];
  /** MQTT topic filters (`+`, `#` as whole levels) that may hold `${…}` variables. */
  topics: string[];
}

export interface Policy {
  version: 1;
  rules: PolicyRule[];
  /** Whether the device may publish retained messages (wills included). */
  retain: boolean;
}

/** Who is connected: the values policy variables are replaced with, once per connection. */
export interface DeviceContext {
  tenant: string;
  deviceId: string;
  deviceName: string;
  attributes: Record<string, string | number | boolean>;
}

/**
 * Bounds on what a device may send and on what an operator may write. MQTT allows 65,535
 * bytes; no device topic needs more than 256 characters, and short topics bound the matching
 * cost on the hot path.
 */
export const TOPIC_MAX_LENGTH = 256;
export const TOPIC_MAX_LEVELS = 16;
export const POLICY_MAX_RULES = 64;
export const RULE_MAX_TOPICS = 64;

/** Compiled patterns of one action: arrays of levels, variables already substituted. */
export interface CompiledRules {
  /** Wildcard-free allow patterns as topic strings: the common PUBLISH case is one lookup. */
  readonly allowExact: ReadonlySet<string>;
  readonly allowWild: readonly (readonly string[])[];
  readonly denyExact: ReadonlySet<string>;
  readonly denyWild: readonly (readonly string[])[];
  /** Every deny pattern, for SUBSCRIBE, where even an exact deny is an overlap test. */
  readonly deny: readonly (readonly string[])[];
}

export interface CompiledPolicy {
  readonly publish: CompiledRules;
  readonly subscribe: CompiledRules;
  readonly retain: boolean;
}

const me = 'v1/devices/me';

/** ThingsBoard's device MQTT API: what a class without a policy (`null`, `{}`) grants. */
export const defaultDevicePolicy: Policy = deepFreeze({
  version: 1,
  rules: [
    {
      effect: 'allow',
      actions: ['publish'],
      topics: [
        `${me}/telemetry`,
        `${me}/attributes`,
        `${me}/attributes/request/+`,
        `${me}/rpc/response/+`,
        `${me}/rpc/request/+`,
        `${me}/claim`,
      ],
    },
    {
      effect: 'allow',
      actions: ['subscribe'],
      topics: [
        `${me}/attributes`,
        `${me}/attributes/response/+`,
        `${me}/rpc/request/+`,
        `${me}/rpc/response/+`,
      ],
    },
  ],
  retain: false,
});

// ---------------------------------------------------------------------------------------------
// Validation

/**
 * Validates and normalises a class policy. `null`, `undefined` and `{}` (what the catalogue
 * stores for a class created without one) mean {@link defaultDevicePolicy}. Throws a
 * VALIDATION_FAILED CertflowError whose message and field errors name each bad path, e.g.
 * `rules.2.topics.0: "#" must be the last level`.
 */
export function parsePolicy(json: unknown): Policy {
  if (json === null || json === undefined) return defaultDevicePolicy;
  if (isRecord(json) && Object.keys(json).length === 0) return defaultDevicePolicy;
  const errors: FieldError[] = [];
  const policy = readPolicy(json, (field, message) => errors.push({ field, message }));
  if (errors.length > 0) {
    const message = errors.map((e) => `${e.field}: ${e.message}`).join('; ');
    throw new CertflowError('VALIDATION_FAILED', message, errors);
  }
  return policy;
}

type Fail = (field: string, message: string) => void;

function readPolicy(json: unknown, fail: Fail): Policy {
  const policy: Policy = { version: 1, rules: [], retain: false };
  if (!isRecord(json)) {
    fail('policy', 'must be a JSON object with version, rules and retain');
    return policy;
  }
  for (const key of Object.keys(json)) {
    if (key !== 'version' && key !== 'rules' && key !== 'retain') fail(key, 'is not a policy field');
  }
  if (json.version !== 1) fail('version', 'must be 1');
  if (json.retain !== undefined && typeof json.retain !== 'boolean') fail('retain', 'must be true or false');
  policy.retain = json.retain === true;
  if (!Array.isArray(json.rules)) fail('rules', 'must be an array of rules');
  else if (json.rules.length > POLICY_MAX_RULES) fail('rules', `must hold at most ${POLICY_MAX_RULES} rules`);
  else json.rules.forEach((rule: unknown, i) => policy.rules.push(readRule(rule, `rules.${i}`, fail)));
  return policy;
}

function readRule(json: unknown, path: string, fail: Fail): PolicyRule {
  const rule: PolicyRule = { effect: 'deny', actions: [], topics: [] };
  if (!isRecord(json)) {
    fail(path, 'must be an object with effect, actions and topics');
    return rule;
  }
  for (const key of Object.keys(json)) {
    if (key !== 'effect' && key !== 'actions' && key !== 'topics')
      fail(`${path}.${key}`, 'is not a rule field');
  }
  if (json.effect === 'allow' || json.effect === 'deny') rule.effect = json.effect;
  else fail(`${path}.effect`, 'must be "allow" or "deny"');
  const actions = json.actions;
  if (!Array.isArray(actions) || actions.length === 0)
    fail(`${path}.actions`, 'must name at least one action');
  else
    actions.forEach((a: unknown, i) => {
      if (a === 'publish' || a === 'subscribe') rule.actions.push(a);
      else fail(`${path}.actions.${i}`, 'must be "publish" or "subscribe"');
    });
  const topics = json.topics;
  if (!Array.isArray(topics) || topics.length === 0) fail(`${path}.topics`, 'must list at least one topic');
  else if (topics.length > RULE_MAX_TOPICS) fail(`${path}.topics`, `must list at most ${RULE_MAX_TOPICS}`);
  else
    topics.forEach((t: unknown, i) => {
      const problem = typeof t !== 'string' ? 'must be a string' : parseTemplate(t);
      if (typeof problem === 'string') fail(`${path}.topics.${i}`, problem);
      else if (typeof t === 'string') rule.topics.push(t);
    });
  return rule;
}

// ---------------------------------------------------------------------------------------------
// Templates: a topic pattern as levels; a level is `+`, `#`, or text parts and variables.

type Part = string | { readonly variable: string };
type TemplateLevel = readonly Part[];

/** Attribute keys are restricted so a key can never hold `/`, `}` or a wildcard. */
const variableName = /^(?:device\.name|device\.id|tenant|attributes\.[A-Za-z0-9_.:-]+)$/;

/** The template's levels, or why it is not a valid pattern. */
function parseTemplate(text: string): TemplateLevel[] | string {
  if (text.length === 0) return 'must not be empty';
  if (text.length > TOPIC_MAX_LENGTH) return `must be at most ${TOPIC_MAX_LENGTH} characters`;
  if (text.includes('\u0000')) return 'must not contain NUL';
  const raw = text.split('/');
  if (raw.length > TOPIC_MAX_LEVELS) return `must have at most ${TOPIC_MAX_LEVELS} levels`;
  if (text.startsWith('$') && !text.startsWith('${')) return '"$" topics are reserved for the broker';
  const levels: TemplateLevel[] = [];
  for (const [i, level] of raw.entries()) {
    if (level === '#' && i !== raw.length - 1) return '"#" must be the last level';
    if (level === '+' || level === '#') levels.push([level]);
    else if (level.includes('#')) return '"#" must be a whole level';
    else if (level.includes('+')) return '"+" must be a whole level';
    else {
      const parts = parseLevel(level);
      if (typeof parts === 'string') return parts;
      levels.push(parts);
    }
  }
  return levels;
}

function parseLevel(level: string): Part[] | string {
  const parts: Part[] = [];
  let at = 0;
  for (let open = level.indexOf('${'); open >= 0; open = level.indexOf('${', at)) {
    const close = level.indexOf('}', open + 2);
    if (close < 0) return `"\${" is not closed in level "${level}"`;
    const name = level.slice(open + 2, close);
    if (!variableName.test(name)) return `unknown variable "\${${name}}"`;
    if (open > at) parts.push(level.slice(at, open));
    parts.push({ variable: name });
    at = close + 1;
  }
  if (at < level.length || parts.length === 0) parts.push(level.slice(at));
  return parts;
}

function templateOf(topic: string): TemplateLevel[] {
  const parsed = parseTemplate(topic);
  if (typeof parsed === 'string') throw new Error(`unreachable: a parsed policy holds "${topic}"`);
  return parsed;
}

// ---------------------------------------------------------------------------------------------
// Compilation

/**
 * Substitutes the device's values and precomputes matchers, once per connection. A variable
 * that is missing, empty, or holds `+ # / $` or NUL makes an ALLOW pattern unusable (dropped:
 * a value never widens a grant) and turns its level of a DENY pattern into `+` (a deny only
 * ever grows: dropping it would widen what the device may do).
 */
export function compilePolicy(policy: Policy, ctx: DeviceContext): CompiledPolicy {
  const valid = parsePolicy(policy);
  const compile = (action: PolicyAction): CompiledRules => {
    const allow: string[][] = [];
    const deny: string[][] = [];
    for (const rule of valid.rules) {
      if (!rule.actions.includes(action)) continue;
      for (const topic of rule.topics) {
        const levels = substitute(templateOf(topic), ctx, rule.effect === 'deny');
        if (levels) (rule.effect === 'deny' ? deny : allow).push(levels);
      }
    }
    const exact = (ps: string[][]) => new Set(ps.filter((p) => !hasWildcard(p)).map((p) => p.join('/')));
    return Object.freeze({
      allowExact: exact(allow),
      allowWild: allow.filter(hasWildcard),
      denyExact: exact(deny),
      denyWild: deny.filter(hasWildcard),
      deny,
    });
  };
  return Object.freeze({
    publish: compile('publish'),
    subscribe: compile('subscribe'),
    retain: valid.retain,
  });
}

function substitute(template: TemplateLevel[], ctx: DeviceContext, isDeny: boolean): string[] | undefined {
  const levels: string[] = [];
  for (const parts of template) {
    let level = '';
    for (const part of parts) {
      const value = typeof part === 'string' ? part : resolve(part.variable, ctx);
      if (value === undefined) {
        if (!isDeny) return undefined;
        level = '+';
        break;
      }
      level += value;
    }
    levels.push(level);
  }
  return levels;
}

function resolve(name: string, ctx: DeviceContext): string | undefined {
  let value: unknown;
  if (name === 'device.name') value = ctx.deviceName;
  else if (name === 'device.id') value = ctx.deviceId;
  else if (name === 'tenant') value = ctx.tenant;
  else {
    const key = name.slice('attributes.'.length);
    value = Object.hasOwn(ctx.attributes, key) ? ctx.attributes[key] : undefined;
  }
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value)))
    text = String(value);
  else return undefined;
  return isSafeValue(text) ? text : undefined;
}

const NUL = 0x00;
const HASH = 0x23;
const DOLLAR = 0x24;
const PLUS = 0x2b;
const SLASH = 0x2f;

/** A value may fill a level only if it cannot add a level, a wildcard or a `$` topic. */
function isSafeValue(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === NUL || c === HASH || c === DOLLAR || c === PLUS || c === SLASH) return false;
  }
  return true;
}

function hasWildcard(levels: readonly string[]): boolean {
  return levels.some((l) => l === '+' || l === '#');
}

// ---------------------------------------------------------------------------------------------
// The hot path

/**
 * May the device publish to `topic` (also used for its will)? Refused: wildcards, `$` topics,
 * empty, longer than {@link TOPIC_MAX_LENGTH} or deeper than {@link TOPIC_MAX_LEVELS}, retained
 * unless the policy allows retain, matched by a deny, matched by no allow.
 */
export function mayPublish(p: CompiledPolicy, topic: string, opts?: { retain?: boolean }): boolean {
  if (opts?.retain === true && !p.retain) return false;
  if (!isTopicName(topic)) return false;
  const rules = p.publish;
  if (rules.denyExact.has(topic)) return false;
  let levels: string[] | undefined;
  if (rules.denyWild.length > 0) {
    levels = topic.split('/');
    for (const deny of rules.denyWild) if (matches(deny, levels)) return false;
  }
  if (rules.allowExact.has(topic)) return true;
  if (rules.allowWild.length === 0) return false;
  levels ??= topic.split('/');
  for (const allow of rules.allowWild) if (matches(allow, levels)) return true;
  return false;
}

/**
 * May the device subscribe to `filter`? Only if one allow pattern covers every topic the filter
 * can match and no deny pattern may overlap it. `$` filters (`$SYS/…`, `$share/…`) are refused.
 */
export function maySubscribe(p: CompiledPolicy, filter: string): boolean {
  const levels = filterLevels(filter);
  if (!levels) return false;
  const rules = p.subscribe;
  for (const deny of rules.deny) if (intersects(deny, levels)) return false;
  if (rules.allowExact.has(filter)) return true;
  for (const allow of rules.allowWild) if (covers(allow, levels)) return true;
  return false;
}

function isTopicName(topic: string): boolean {
  const n = topic.length;
  if (n === 0 || n > TOPIC_MAX_LENGTH || topic.charCodeAt(0) === DOLLAR) return false;
  let levels = 1;
  for (let i = 0; i < n; i++) {
    const c = topic.charCodeAt(i);
    if (c === PLUS || c === HASH || c === NUL) return false;
    if (c === SLASH && ++levels > TOPIC_MAX_LEVELS) return false;
  }
  return true;
}

function filterLevels(filter: string): string[] | undefined {
  if (filter.length === 0 || filter.length > TOPIC_MAX_LENGTH || filter.charCodeAt(0) === DOLLAR) {
    return undefined;
  }
  if (filter.includes('\u0000')) return undefined;
  const levels = filter.split('/');
  if (levels.length > TOPIC_MAX_LEVELS) return undefined;
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i] as string;
    if (level === '+' || (level === '#' && i === levels.length - 1)) continue;
    if (level.includes('+') || level.includes('#')) return undefined;
  }
  return levels;
}

// ---------------------------------------------------------------------------------------------
// Pattern algebra over arrays of levels. `$` topics never reach it, so the MQTT rule that a
// leading wildcard does not match `$` topics needs no case here.

/** Does `pattern` match the concrete `topic`? (`a/#` matches `a` too, as in MQTT.) */
function matches(pattern: readonly string[], topic: readonly string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i];
    if (p === '#') return true;
    if (i >= topic.length) return false;
    if (p !== '+' && p !== topic[i]) return false;
  }
  return pattern.length === topic.length;
}

/** Does `pattern` match every topic `filter` can match? */
function covers(pattern: readonly string[], filter: readonly string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i];
    if (p === '#') return true;
    const f = filter[i];
    if (f === undefined || f === '#') return false;
    if (p !== '+' && f !== p) return false;
  }
  return pattern.length === filter.length;
}

/** May some topic match both? Either side's `#` swallows whatever the other has left. */
function intersects(a: readonly string[], b: readonly string[]): boolean {
  for (let i = 0; ; i++) {
    const x = a[i];
    const y = b[i];
    if (x === '#' || y === '#') return true;
    if (x === undefined || y === undefined) return x === y;
    if (x !== '+' && y !== '+' && x !== y) return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Ceilings

/**
 * Is `child` never wider than `ceiling` for any device? Conservative, on the templates: every
 * allow of the child is covered by one allow of the ceiling (a level with variables is covered
 * only by `+`, `#` or the identical level, so both substitute alike), every deny of the ceiling
 * is kept (covered by a deny of the child) or overlaps no allow of the child (a level with
 * variables may overlap anything), and retain only if the ceiling allows it.
 */
export function isWithin(child: Policy, ceiling: Policy): boolean {
  const c = parsePolicy(child);
  const k = parsePolicy(ceiling);
  if (c.retain && !k.retain) return false;
  for (const action of policyActions) {
    const childAllow = patternsOf(c, 'allow', action);
    const childDeny = patternsOf(c, 'deny', action);
    const ceilingAllow = patternsOf(k, 'allow', action);
    for (const a of childAllow) if (!ceilingAllow.some((ka) => covers(ka, a))) return false;
    for (const d of patternsOf(k, 'deny', action)) {
      if (childDeny.some((cd) => covers(cd, d))) continue;
      const loose = widenVariables(d);
      if (childAllow.some((a) => intersects(widenVariables(a), loose))) return false;
    }
  }
  return true;
}

/** Template levels as text: variable names contain no `/`, so splitting is exact. */
function patternsOf(policy: Policy, effect: PolicyEffect, action: PolicyAction): string[][] {
  return policy.rules
    .filter((r) => r.effect === effect && r.actions.includes(action))
    .flatMap((r) => r.topics.map((t) => t.split('/')));
}

function widenVariables(levels: string[]): string[] {
  return levels.map((l) => (l.includes('${') ? '+' : l));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
