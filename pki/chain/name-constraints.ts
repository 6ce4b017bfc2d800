import { children, readRoot } from './der';
import type { CheckFailure } from './errors';
import type { GeneralName } from './general-names';
import { nameAttributes } from './names';
import type { ParsedCert } from './parse';

/**
 * Name-comparison budget per path: limbo `pathological::nc-dos-*` pairs 2048 names with 4096
 * constraints, which a quadratic check would take seconds over; such paths are refused instead.
 */
const MAX_COMPARISONS = 1 << 18;
const EMAIL_ADDRESS = '1.2.840.113549.1.9.1';

function dnsMatches(name: string, constraint: string): boolean {
  const n = name.toLowerCase();
  const c = constraint.toLowerCase();
  return c === '' || n === c || n.endsWith(`.${c}`);
}

/** A wildcard SAN (`*.example.com`) is excluded when any name it may stand for is. */
function dnsExcluded(name: string, constraint: string): boolean {
  if (dnsMatches(name, constraint)) return true;
  return (
    name.startsWith('*.') && dnsMatches(constraint, name.slice(2)) && constraint.length > name.length - 2
  );
}

function emailMatches(name: string, constraint: string): boolean {
  const at = name.lastIndexOf('@');
  const host = name.slice(at + 1).toLowerCase();
  if (constraint.includes('@')) return name === constraint;
  const c = constraint.toLowerCase();
  return c.startsWith('.') ? host.endsWith(c) : host === c;
}

function uriHost(uri: string): string | null {
  const match = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?(\[[^\]]*\]|[^:/?#]*)/i.exec(uri);
  return match?.[1] ? match[1] : null;
}

function uriMatches(name: string, constraint: string): boolean {
  const host = uriHost(name)?.toLowerCase();
  if (!host) return true; // no host to judge: treated as matching, which fails closed for exclusions
  const c = constraint.toLowerCase();
  return c.startsWith('.') ? host.endsWith(c) : host === c;
}

function ipMatches(name: Uint8Array, constraint: Uint8Array): boolean {
  if (constraint.length !== name.length * 2) return false;
  for (let i = 0; i < name.length; i++) {
    const mask = constraint[name.length + i]!;
    if ((name[i]! & mask) !== (constraint[i]! & mask)) return false;
  }
  return true;
}

function rdns(name: Uint8Array): Buffer[] {
  return children(name, readRoot(name)).map((rdn) => Buffer.from(name.subarray(rdn.start, rdn.end)));
}

function dnMatches(name: Uint8Array, constraint: Uint8Array): boolean {
  const n = rdns(name);
  const c = rdns(constraint);
  return c.length <= n.length && c.every((rdn, i) => rdn.equals(n[i]!));
}

/** Whether `name` falls in the subtree `constraint` (same kind), per RFC 5280 4.2.1.10. */
function matches(name: GeneralName, constraint: GeneralName, excluded: boolean): boolean {
  switch (name.kind) {
    case 'dns':
      return constraint.kind === 'dns' && (excluded ? dnsExcluded : dnsMatches)(name.value, constraint.value);
    case 'email':
      return constraint.kind === 'email' && emailMatches(name.value, constraint.value);
    case 'uri':
      return constraint.kind === 'uri' && uriMatches(name.value, constraint.value);
    case 'ip':
      return constraint.kind === 'ip' && ipMatches(name.value, constraint.value);
    case 'dn':
      return constraint.kind === 'dn' && dnMatches(name.value, constraint.value);
    case 'other':
      // Unsupported name forms cannot be evaluated: any constraint of the same form applies (fail closed).
      return constraint.kind === 'other' && constraint.tag === name.tag;
  }
}

function sameKind(a: GeneralName, b: GeneralName): boolean {
  return a.kind === b.kind && (a.kind !== 'other' || (b.kind === 'other' && a.tag === b.tag));
}

/** A constraint the profile forbids (malformed subtree) makes its extension unusable. */
function malformedConstraint(c: GeneralName): boolean {
  if (c.kind === 'dns') return c.value.startsWith('.') || c.value.includes('*');
  if (c.kind === 'ip') {
    if (c.value.length !== 8 && c.value.length !== 32) return true;
    const bits = [...c.value.subarray(c.value.length / 2)]
      .map((b) => b.toString(2).padStart(8, '0'))
      .join('');
    return /01/.test(bits);
  }
  if (c.kind === 'email') return (c.value.match(/@/g) ?? []).length > 1;
  return false;
}

const DNS_NAME = /^(\*\.)?([a-z0-9_-]+\.)*[a-z0-9_-]+$/i;

/** A name that cannot be placed in any subtree (bad DNS syntax, not one `@`) is never inside one. */
function malformedName(name: GeneralName): boolean {
  if (name.kind === 'dns') return !DNS_NAME.test(name.value);
  if (name.kind === 'email') return name.value.split('@').length !== 2 || /^@|@$/.test(name.value);
  return false;
}

/** The names of `cert` that constraints apply to: subject DN, its emailAddress attributes, and SANs. */
function namesOf(cert: ParsedCert): GeneralName[] {
  const names: GeneralName[] = [...(cert.ext.subjectAltName ?? [])];
  if (cert.subject.length > 2) {
    names.push({ kind: 'dn', value: cert.subject });
    for (const email of nameAttributes(cert.subject, EMAIL_ADDRESS))
      names.push({ kind: 'email', value: email });
  }
  return names;
}

/**
 * RFC 5280 6.1.3 (b)-(c): every name of every certificate below a constraining CA must be inside
 * its permitted subtrees (for the name forms it constrains) and outside its excluded subtrees.
 * Self-issued intermediates are exempt; the leaf never is.
 */
export function checkNameConstraints(path: readonly ParsedCert[]): CheckFailure {
  let budget = MAX_COMPARISONS;
  for (let k = 1; k < path.length; k++) {
    const nc = path[k]!.ext.nameConstraints;
    if (!nc) continue;
    if ([...nc.permitted, ...nc.excluded].some(malformedConstraint)) {
      return { code: 'CHAIN_INVALID_EXTENSION', detail: 'nameConstraints holds a malformed subtree' };
    }
    for (let j = 0; j < k; j++) {
      const cert = path[j]!;
      if (j > 0 && cert.selfIssued) continue;
      for (const name of namesOf(cert)) {
        budget -= nc.permitted.length + nc.excluded.length;
        if (budget < 0)
          return { code: 'CHAIN_NAME_CONSTRAINTS', detail: 'too many names and constraints to check' };
        const constrained = [...nc.permitted, ...nc.excluded].some((c) => sameKind(name, c));
        if (constrained && malformedName(name)) {
          return {
            code: 'CHAIN_NAME_CONSTRAINTS',
            detail: `a malformed ${name.kind} name cannot be checked`,
          };
        }
        if (nc.excluded.some((c) => matches(name, c, true))) {
          return { code: 'CHAIN_NAME_CONSTRAINTS', detail: `a ${name.kind} name is in an excluded subtree` };
        }
        const relevant = nc.permitted.filter((c) => sameKind(name, c));
        if (relevant.length > 0 && !relevant.some((c) => matches(name, c, false))) {
          return {
            code: 'CHAIN_NAME_CONSTRAINTS',
            detail: `a ${name.kind} name is outside the permitted subtrees`,
          };
        }
      }
    }
  }
  return null;
}
