import type { OutputFormat } from './args';

/**
 * What a command prints on stdout: indented JSON by default (stable for scripts, the API's own
 * field names), or a text table for people.
 */
export function render(format: OutputFormat, data: unknown, table: () => string): string {
  return format === 'table' ? table() : JSON.stringify(data, null, 2);
}
