import { ChainError, type CheckFailure, type ChainErrorCode } from './errors';
import { bytesKey, type ParsedCert } from './parse';
import { checkCertificate, type ResolvedPolicy, type Role } from './profile';
import type { SignatureVerifier } from './signature';

export interface Candidate {
  readonly cert: ParsedCert;
  readonly anchor: boolean;
}

export interface BuildInput {
  readonly leaf: ParsedCert;
  /** Trust anchors and untrusted intermediates, deduplicated by DER (an anchor wins). */
  readonly candidates: readonly Candidate[];
  readonly policy: ResolvedPolicy;
  readonly verifier: SignatureVerifier;
  /** Whole-path checks (name constraints, revocation) run once a path reaches an anchor. */
  readonly acceptPath: (path: readonly ParsedCert[]) => CheckFailure;
}

export type BuildResult =
  { ok: true; path: ParsedCert[] } | { ok: false; code: ChainErrorCode; detail: string };

/**
 * Depth-first path building from the leaf towards any trust anchor. Candidate issuers are found
 * by exact issuer/subject name and filtered by AKI/SKI; each failing candidate is skipped and the
 * next one tried (back-tracking), which is what finds a path through a re-issued or cross-signed
 * CA when the first-tried issuer is expired, distrusted or otherwise unusable. A (subject, key)
 * pair may appear once per path, so certificate cycles end. The search is bounded in depth and in
 * total work, so hostile inputs (limbo `pathological::`) fail fast with CHAIN_WORK_EXCEEDED.
 */
class PathBuilder {
  private readonly bySubject = new Map<string, Candidate[]>();
  private readonly checks = new Map<string, CheckFailure>();
  private readonly onPath = new Set<string>();
  private work = 0;
  private best: { failure: NonNullable<CheckFailure>; depth: number } | null = null;

  constructor(private readonly input: BuildInput) {
    for (const c of input.candidates) {
      const list = this.bySubject.get(c.cert.subjectKey) ?? [];
      list.push(c);
      this.bySubject.set(c.cert.subjectKey, list);
    }
  }

  run(): BuildResult {
    const { leaf } = this.input;
    const leafFailure = this.check(leaf, 'leaf');
    if (leafFailure) return { ok: false, ...leafFailure };
    try {
      const path = this.extend([leaf], 0);
      if (path) return { ok: true, path };
    } catch (err) {
      if (err instanceof ChainError) return { ok: false, code: err.code, detail: err.detail };
      throw err;
    }
    const failure = this.best?.failure ?? { code: 'CHAIN_NO_PATH', detail: 'no issuer found for the leaf' };
    return { ok: false, ...failure };
  }

  private check(cert: ParsedCert, role: Role): CheckFailure {
    const key = `${role}:${cert.fingerprint}`;
    let result = this.checks.get(key);
    if (result === undefined) {
      result = checkCertificate(cert, role, this.input.policy);
      this.checks.set(key, result);
    }
    return result;
  }

  private record(failure: NonNullable<CheckFailure>, depth: number): void {
    if (!this.best || depth > this.best.depth) this.best = { failure, depth };
  }

  private reject(failure: NonNullable<CheckFailure>, depth: number): null {
    this.record(failure, depth);
    return null;
  }

  private spend(): void {
    if (++this.work + this.input.verifier.verifications > this.input.policy.maxWork) {
      throw new ChainError(
        'CHAIN_WORK_EXCEEDED',
        `path building gave up after ${this.work} candidate issuers`,
      );
    }
  }

  /** Candidates whose subject matches and whose SKI does not contradict the child's AKI; anchors first. */
  private candidatesFor(child: ParsedCert): Candidate[] {
    const akid = child.ext.authorityKeyId?.keyId;
    const now = this.input.policy.now;
    const score = (c: Candidate) =>
      (c.anchor ? 0 : 2) + (c.cert.notBefore <= now && now <= c.cert.notAfter ? 0 : 1);
    return (this.bySubject.get(child.issuerKey) ?? [])
      .filter((c) => !akid || !c.cert.ext.subjectKeyId || Buffer.compare(akid, c.cert.ext.subjectKeyId) === 0)
      .sort((a, b) => score(a) - score(b));
  }

  /** `intermediates` counts the non-self-issued intermediates in `path` (RFC 5280 6.1.4 (l)). */
  private extend(path: ParsedCert[], intermediates: number): ParsedCert[] | null {
    const child = path[path.length - 1]!;
    const depth = path.length;
    const candidates = this.candidatesFor(child);
    if (candidates.length === 0) this.record({ code: 'CHAIN_NO_PATH', detail: 'no issuer found' }, depth);
    this.onPath.add(identity(child));
    try {
      for (const candidate of candidates) {
        const found = this.tryCandidate(path, intermediates, candidate);
        if (found) return found;
      }
      return null;
    } finally {
      this.onPath.delete(identity(child));
    }
  }

  private tryCandidate(
    path: ParsedCert[],
    intermediates: number,
    { cert, anchor }: Candidate,
  ): ParsedCert[] | null {
    this.spend();
    const depth = path.length;
    if (this.onPath.has(identity(cert))) {
      return this.reject({ code: 'CHAIN_NO_PATH', detail: 'issuer graph loops back on itself' }, depth);
    }
    const pathLen = cert.ext.basicConstraints?.pathLen;
    const failure =
      this.check(cert, anchor ? 'anchor' : 'intermediate') ??
      (pathLen !== undefined && intermediates > pathLen
        ? {
            code: 'CHAIN_PATHLEN_EXCEEDED' as const,
            detail: `pathLenConstraint ${pathLen} allows fewer CAs below it`,
          }
        : null) ??
      this.input.verifier.verify(path[depth - 1]!, cert);
    if (failure) return this.reject(failure, depth);
    const next = [...path, cert];
    if (anchor) {
      const pathFailure = this.input.acceptPath(next);
      return pathFailure ? this.reject(pathFailure, depth) : next;
    }
    const count = intermediates + (cert.selfIssued ? 0 : 1);
    const { maxDepth } = this.input.policy;
    if (count > maxDepth || next.length > 2 * maxDepth + 2) {
      return this.reject({ code: 'CHAIN_TOO_DEEP', detail: `more than ${maxDepth} intermediates` }, depth);
    }
    return this.extend(next, count);
  }
}

/** A CA is the same node of the issuer graph whatever certificate conveys it: subject and key. */
function identity(cert: ParsedCert): string {
  return `${cert.subjectKey}\u0000${bytesKey(cert.spki)}`;
}

export function buildPath(input: BuildInput): BuildResult {
  return new PathBuilder(input).run();
}
