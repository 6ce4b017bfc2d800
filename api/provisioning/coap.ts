/**
 * ThingsBoard's CoAP provisioning: `POST coap://host:5683/api/v1/provision` with the JSON
 * request; the answer is 2.05 Content, application/json, the handler's response as is
 * (FAILURE included, as ThingsBoard does). Other paths 4.04, other methods 4.05, bodies over
 * the limit 4.13. Large answers (a signed certificate) go block-wise (Block2, RFC 7959), by
 * our own code: see `blockwise` below for why node-coap's is not used.
 */
import * as coap from 'coap';
import { createHash } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { isIPv6 } from 'node:net';
import type { Logger } from 'pino';
import { parseProvisionPayload } from '../mqtt/provisioning';
import type { ProvisionHandler } from './handler';

export const COAP_PROVISION_PATH = '/api/v1/provision';
const MAX_PAYLOAD_BYTES = 16 * 1024;
/** The largest block RFC 7959 allows (SZX 6); answers up to this size go in one message. */
const BLOCK_SIZE = 1024;
/** How long the blocks of an answer stay available to the client (RFC 7252's EXCHANGE_LIFETIME is 247 s). */
const BLOCKWISE_TTL_MS = 60_000;
/** At most this many answers kept for block-wise transfer; the oldest go first. */
const MAX_BLOCKWISE_ANSWERS = 1_000;

export interface CoapProvisioningOptions {
  host: string;
  /** 5683 in production; 0 picks a free port (tests). */
  port: number;
  handler: ProvisionHandler;
  logger: Logger;
  maxPayloadBytes?: number;
}

export interface CoapProvisioning {
  port: number;
  close(): Promise<void>;
}

export async function startCoapProvisioning(opts: CoapProvisioningOptions): Promise<CoapProvisioning> {
  const maxBytes = opts.maxPayloadBytes ?? MAX_PAYLOAD_BYTES;
  const answers = blockwise();
  const server = coap.createServer({ type: isIPv6(opts.host) ? 'udp6' : 'udp4' });
  server.on('error', (err: Error) => opts.logger.warn({ err }, 'CoAP server error'));
  server.on('request', (req: coap.IncomingMessage, res: coap.OutgoingMessage) => {
    serve(req, res).catch((err: unknown) => {
      opts.logger.error({ err }, 'CoAP provisioning failed');
      reply(res, '5.00');
    });
  });

  async function serve(req: coap.IncomingMessage, res: coap.OutgoingMessage): Promise<void> {
    if (req.url.split('?')[0] !== COAP_PROVISION_PATH) return reply(res, '4.04');
    if (req.method !== 'POST') return reply(res, '4.05');
    const block2 = block2Of(req);
    if (block2 === null) return reply(res, '4.02');
    // A later block of an answer already computed: served from the stored answer, never by
    // calling the handler again (libcoap's follow-ups carry a new token and no body).
    if (block2 && block2.num > 0) {
      const stored = answers.find(req);
      return stored ? sendBlock(res, stored, block2.num, block2.size) : reply(res, '4.08');
    }
    if (req.payload.length > maxBytes) {
      res.setOption('Size1', maxBytes);
      return reply(res, '4.13');
    }
    const response = await opts.handler(parseProvisionPayload(req.payload), {
      transport: 'coap',
      remote: req.rsinfo.address,
    });
    const body = Buffer.from(JSON.stringify(response));
    if (!block2 && body.length <= BLOCK_SIZE) {
      res.setOption('Content-Format', 'application/json');
      return reply(res, '2.05', body.toString());
    }
    const size = Math.min(block2?.size ?? BLOCK_SIZE, BLOCK_SIZE);
    const answer = { body, etag: createHash('sha256').update(body).digest().subarray(0, 8) };
    if (body.length > size) answers.remember(req, answer);
    sendBlock(res, answer, 0, size);
  }

  // Our own socket, so the port is known (port 0 in tests) and so the Block1 guard below sees
  // each datagram before node-coap, which reassembles block-wise bodies without any bound.
  const socket = createSocket({ type: isIPv6(opts.host) ? 'udp6' : 'udp4' });
  socket.bind(opts.port, opts.host);
  await once(socket, 'listening');
  server.listen(socket);
  guardBlockwise(socket, maxBytes);
  const port = socket.address().port;
  opts.logger.info({ port }, 'CoAP provisioning listening');

  return {
    port,
    close: async () => {
      answers.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    },
  };
}

function reply(res: coap.OutgoingMessage, code: string, payload?: string): void {
  res.code = code;
  res.end(payload === undefined ? undefined : Buffer.from(payload));
}

interface Answer {
  body: Buffer;
  etag: Buffer;
}

/**
 * The answers being transferred block-wise, for the requests of their later blocks.
 *
 * node-coap's own Block2 support is not used: it finds the stored answer by the request's token,
 * but libcoap's coap-client (like RFC 7959 allows) asks each block with a new token and without
 * the request body, so node-coap handed every later block to the handler as a new, empty
 * request: the handler ran again (provisioning again), answered FAILURE in one message without
 * Block2, and libcoap dropped the transfer ("large body receive internal issue"). node-coap also
 * stores the options of an answer when the request event returns, before an async handler set
 * Content-Format, so its later blocks lacked it.
 *
 * Here an answer is kept under the client's endpoint (address and port, what libcoap keeps)
 * and under endpoint and token (what node-coap's client keeps, so two of its concurrent
 * transfers do not mix), for a short time and in bounded number.
 */
function blockwise() {
  const stored = new Map<string, Answer & { expires: number }>();
  const endpoint = (req: coap.IncomingMessage) => `${req.rsinfo.address}|${req.rsinfo.port}`;
  const withToken = (req: coap.IncomingMessage) =>
    `${endpoint(req)}|${req._packet.token?.toString('hex') ?? ''}`;

  function prune(now: number): void {
    for (const [key, entry] of stored) {
      if (entry.expires > now && stored.size <= 2 * MAX_BLOCKWISE_ANSWERS) break;
      stored.delete(key);
    }
  }

  return {
    remember(req: coap.IncomingMessage, answer: Answer): void {
      const now = Date.now();
      for (const key of [withToken(req), endpoint(req)]) {
        stored.delete(key); // re-inserted last, so the map stays in expiry order
        stored.set(key, { ...answer, expires: now + BLOCKWISE_TTL_MS });
      }
      prune(now);
    },
    find(req: coap.IncomingMessage): Answer | undefined {
      const now = Date.now();
      prune(now);
      return stored.get(withToken(req)) ?? stored.get(endpoint(req));
    },
    clear: () => stored.clear(),
  };
}

/**
 * Block `num` of `size` bytes of an answer, with what RFC 7959 wants on every block: Block2
 * (NUM, M, SZX), the same Content-Format and ETag, and Size2 (the whole answer's size).
 */
function sendBlock(res: coap.OutgoingMessage, answer: Answer, num: number, size: number): void {
  const last = Math.max(0, Math.ceil(answer.body.length / size) - 1);
  if (num > last) return reply(res, '4.02');
  res.code = '2.05';
  res.setOption('Content-Format', 'application/json');
  res.setOption('ETag', answer.etag);
  res.setOption('Block2', blockValue(num, num < last, size));
  res.setOption('Size2', answer.body.length);
  // The base class's end: node-coap's server subclass would cut the block into blocks again.
  coap.OutgoingMessage.prototype.end.call(res, answer.body.subarray(num * size, (num + 1) * size));
}

/** A Block2 option value: NUM, M and SZX in as few bytes as the NUM needs (RFC 7959 §2.2). */
function blockValue(num: number, more: boolean, size: number): Buffer {
  const value = num * 16 + (more ? 8 : 0) + Math.log2(size) - 4;
  if (value < 0x100) return Buffer.of(value);
  if (value < 0x10000) return Buffer.of(value >> 8, value & 0xff);
  return Buffer.of(value >> 16, (value >> 8) & 0xff, value & 0xff);
}

/**
 * The Block2 option of a request: undefined if absent, null if malformed (over 3 bytes, or
 * the reserved SZX 7), else the block number and size asked for.
 */
function block2Of(req: coap.IncomingMessage): { num: number; size: number } | null | undefined {
  const option = req._packet.options?.find((o) => o.name === 'Block2');
  if (!option) return undefined;
  const value = option.value;
  if (!Buffer.isBuffer(value) || value.length > 3) return null;
  const uint = value.reduce((v, b) => v * 256 + b, 0);
  if ((uint & 7) === 7) return null;
  return { num: Math.floor(uint / 16), size: 2 ** ((uint & 7) + 4) };
}

/**
 * Puts a filter in front of node-coap's datagram listener: a Block1 (block-wise request)
 * whose blocks would take the body past `maxBytes` is answered 4.13 with Size1 at once and
 * never reaches node-coap, whose reassembly would otherwise allocate what the block number claims.
 */
function guardBlockwise(socket: Socket, maxBytes: number): void {
  const listeners = socket.listeners('message') as ((msg: Buffer, rinfo: RemoteInfo) => void)[];
  socket.removeAllListeners('message');
  socket.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
    const block = block1Of(msg);
    if (block && (block.num + 1) * block.size > maxBytes) {
      socket.send(entityTooLarge(msg, maxBytes), rinfo.port, rinfo.address);
      return;
    }
    for (const listener of listeners) listener(msg, rinfo);
  });
}

const BLOCK1 = 27;

/** The Block1 option of a raw CoAP message (RFC 7252 §3, RFC 7959 §2.2), if any. */
export function block1Of(msg: Buffer): { num: number; size: number } | undefined {
  if (msg.length < 4 || msg[0]! >> 6 !== 1) return undefined;
  let i = 4 + (msg[0]! & 0x0f);
  let number = 0;
  while (i < msg.length && msg[i] !== 0xff) {
    const head = msg[i++]!;
    const delta = extended(head >> 4);
    const length = extended(head & 0x0f);
    if (delta === undefined || length === undefined) return undefined;
    number += delta;
    if (number === BLOCK1 && length <= 3) {
      const value = msg.subarray(i, i + length).reduce((v, b) => v * 256 + b, 0);
      return { num: Math.floor(value / 16), size: 2 ** ((value & 7) + 4) };
    }
    if (number > BLOCK1) return undefined;
    i += length;
  }
  return undefined;

  // Option delta/length nibbles 13 and 14 announce 1 or 2 extended bytes; 15 is reserved.
  function extended(nibble: number): number | undefined {
    if (nibble < 13) return nibble;
    if (nibble === 13 && i < msg.length) return msg[i++]! + 13;
    if (nibble === 14 && i + 1 < msg.length) {
      const value = msg.readUInt16BE(i) + 269;
      i += 2;
      return value;
    }
    return undefined;
  }
}

/** 4.13 Request Entity Too Large with Size1, piggybacked on the ACK of a confirmable request. */
function entityTooLarge(request: Buffer, maxBytes: number): Buffer {
  const tokenLength = request[0]! & 0x0f;
  const confirmable = ((request[0]! >> 4) & 0x03) === 0;
  const head = Buffer.from([0x40 | ((confirmable ? 2 : 1) << 4) | tokenLength, (4 << 5) | 13]);
  // Size1 is option 60: delta 13 + 47 in one extended byte, a 2-byte value.
  const size1 = Buffer.from([0xd2, 60 - 13, (maxBytes >> 8) & 0xff, maxBytes & 0xff]);
  const messageId = confirmable
    ? request.subarray(2, 4)
    : Buffer.from([Math.random() * 256, Math.random() * 256]);
  return Buffer.concat([head, messageId, request.subarray(4, 4 + tokenLength), size1]);
}
