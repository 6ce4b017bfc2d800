import { Client, Connection } from '@temporalio/client';
import { ensureSearchAttributes } from './search-attributes';

/** A client for the edge and the CLI; registers the search attributes if they are missing. */
export async function connectClient(address: string, namespace: string): Promise<Client> {
  const connection = await Connection.connect({ address });
  await ensureSearchAttributes(connection, namespace);
  return new Client({ connection, namespace });
}
