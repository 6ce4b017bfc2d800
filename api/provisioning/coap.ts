/**
 * ThingsBoard's CoAP provisioning: `POST coap://host:5683/api/v1/provision` with the JSON
 * request; the answer is 2.05 Content, application/json, the handler's response as is
 * (FAILURE included, as ThingsBoard does). Other paths 4.04, other methods 4.05, bodies over
 * the limit 4.13. Large answers (a signed certificate) go block-wise (Block2), as node-coap does.
 */
import * as coap from 'coap';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { isIPv6 } from 'node:net';
import type { Logger } from 'pino';
import { parseProvisionPayload } from '../mqtt/provisioning';
import type { ProvisionHandler } from './handler';

export const COAP_PROVISION_PATH = '/api/v1/provision';
const MAX_PAYLOAD_BYTES = 16 * 1024;

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
    if (req.payload.length > maxBytes) {
      res.setOption('Size1', maxBytes);
      return reply(res, '4.13');
    }
    const response = await opts.handler(parseProvisionPayload(req.payload), {
      transport: 'coap',
      remote: req.rsinfo.address,
    });
    res.setOption('Content-Format', 'application/json');
    reply(res, '2.05', JSON.stringify(response));
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
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    },
  };
}

function reply(res: coap.OutgoingMessage, code: string, payload?: string): void {
  res.code = code;
  res.end(payload === undefined ? undefined : Buffer.from(payload));
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
