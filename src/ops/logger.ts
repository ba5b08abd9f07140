import { pino, type DestinationStream, type Logger } from 'pino';

// Belt and braces: Portico never logs bodies or headers, and these paths are censored anyway.
const SECRET_KEYS = ['password', 'newPassword', 'secret', 'clientSecret', 'client_secret', 'secretKey', 'token',
  'accessToken', 'access_token', 'refreshToken', 'refresh_token', 'idToken', 'id_token', 'apiKey',
  'authorization', 'cookie', 'set-cookie', 'csrfToken'];
const REDACT_PATHS = [
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((k) => `*.${k}`),
  ...SECRET_KEYS.map((k) => `*.*.${k}`),
  'req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]',
  // Database errors carry the statement's parameters (hashes, emails): never log them.
  'err.params', 'err.parameters', 'err.query',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({
    level,
    base: { service: 'portico' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  }, destination);
}

export type { Logger };
