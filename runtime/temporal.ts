import { Client, Connection } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import { ensureSearchAttributes } from './search-attributes';

/** A client for the edge and the CLI; registers the search attributes if they are missing. */
export async function connectClient(address: string, namespace: string): Promise<Client> {
  const connection = await Connection.connect({ address });
  await ensureSearchAttributes(connection, namespace);
  return new Client({ connection, namespace });
}

/**
 * A client over a worker's own NativeConnection (one process running both, the all-in-one).
 * Only such a client may ask for eager workflow start: the server then returns the first
 * workflow task in its answer to the start, and this process's worker runs it at once.
 * Closing the worker's connection closes this client too.
 */
export async function clientOnWorkerConnection(
  connection: NativeConnection,
  namespace: string,
): Promise<Client> {
  await ensureSearchAttributes(connection, namespace);
  return new Client({ connection, namespace });
}
