import pino, { type Logger } from 'pino';

/** JSON logs; anything that may hold a secret is redacted before it is written. */
export function createLogger(level: string, name: string): Logger {
  return pino({
    name,
    level,
    redact: {
      paths: [
        '*.authorization',
        '*.headers.authorization',
        '*.password',
        '*.token',
        '*.secret',
        '*.key',
        '*.keyPem',
      ],
      censor: '[redacted]',
    },
  });
}
