import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig, resolveIssuer } from '../../src/config/index.js';

describe('configuration', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      production: false, port: 3000, host: '127.0.0.1', issuer: undefined, apiAudience: 'urn:portico:api',
      databaseUrl: undefined, redisUrl: undefined, admin: undefined, secret: undefined, trustProxy: false,
      gatewaySecret: undefined, logLevel: 'info', accessTokenTtl: 7200, usageCounting: true,
    });
    expect(config.dataDir).toMatch(/\/data$/);
    expect(resolveIssuer(config, 3000)).toBe('http://localhost:3000');
  });

  it('derives the issuer from the bound port when PORT=0 and no ISSUER', () => {
    const config = loadConfig({ PORT: '0' });
    expect(config.port).toBe(0);
    expect(resolveIssuer(config, 41234)).toBe('http://localhost:41234');
    expect(resolveIssuer(loadConfig({ PORT: '0', ISSUER: 'https://auth.example.com/' }), 41234)).toBe('https://auth.example.com');
  });

  it('reports every invalid variable at once, by name', () => {
    let error: unknown;
    try { loadConfig({ PORT: '-1', ISSUER: 'ftp://x', REDIS_URL: 'http://redis', ACCESS_TOKEN_TTL: '0', USAGE_COUNTING: 'maybe' }); } catch (err) { error = err; }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(/PORT:/);
    expect(message).toMatch(/ISSUER:/);
    expect(message).toMatch(/REDIS_URL:/);
    expect(message).toMatch(/ACCESS_TOKEN_TTL:/);
    expect(message).toMatch(/USAGE_COUNTING:/);
  });

  it('accepts production with a secret, a database and an https or loopback issuer', () => {
    const base = { NODE_ENV: 'production', PORTICO_SECRET: 's'.repeat(40), DATABASE_URL: 'postgres://db/portico' };
    expect(loadConfig({ ...base, ISSUER: 'https://auth.example.com' }).production).toBe(true);
    expect(loadConfig({ ...base, ISSUER: 'http://127.0.0.1:3000' }).production).toBe(true);
    expect(loadConfig(base).issuer).toBeUndefined(); // http://localhost:$PORT, a loopback host
    expect(() => loadConfig({ ...base, ISSUER: 'http://10.0.0.5' })).toThrow(/ISSUER: must be https/);
    expect(() => loadConfig({ ...base, USAGE_COUNTING: 'off' })).toThrow(/USAGE_COUNTING: must be on/);
    expect(loadConfig({ USAGE_COUNTING: 'off' }).usageCounting).toBe(false);
  });
});
