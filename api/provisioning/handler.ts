import type { ProvisionResponseWire } from '../../domain/provisioning';

/** Where a provision request came from: recorded in the audit trail and used for rate limits. */
export interface ProvisionSource {
  transport: 'http' | 'mqtt' | 'mqtt-external' | 'coap';
  /** Remote address (ip or ip:port), for per-source rate limits. */
  remote: string;
}

/**
 * The one entry point every transport calls with the request body (already JSON-parsed, or
 * the raw text when it was not JSON). It never throws: every outcome, including bad input,
 * is a ThingsBoard-shaped response to send back as is.
 */
export type ProvisionHandler = (body: unknown, source: ProvisionSource) => Promise<ProvisionResponseWire>;
