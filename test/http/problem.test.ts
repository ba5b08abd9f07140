import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import Router from '@koa/router';
import Koa from 'koa';
import { Conflict } from '../../src/http/errors.js';
import { problemResponses } from '../../src/http/problem.js';
import { requestContext } from '../../src/http/request-context.js';
import { createLogger } from '../../src/ops/logger.js';
import { apiClient, type ApiClient } from '../support/http.js';

// The error middleware on its own, with routes that fail in ways the real routes should never do.
const logs: string[] = [];
let server: http.Server;
let api: ApiClient;
beforeAll(async () => {
  const router = new Router();
  router.get('/boom', () => { throw new Error('database password is hunter2'); });
  router.get('/conflict', () => { throw new Conflict('Already there.', { existingId: 'abc' }); });
  const app = new Koa();
  app.use(requestContext(createLogger('info', new Writable({ write(c, _e, done) { logs.push(String(c)); done(); } }) as never)));
  app.use(problemResponses());
  app.use(router.routes());
  server = http.createServer(app.callback()).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  api = apiClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
afterAll(() => new Promise((r) => server.close(r)));

describe('problem+json rendering', () => {
  it('answers an unexpected error 500 without details, and logs it with the request id', async () => {
    const res = await api.get('/boom', { headers: { 'x-request-id': 'req-abcdef-123' } });
    expect(res.status).toBe(500);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.body).toEqual({
      type: 'urn:portico:problem:internal_error', title: 'Internal error', status: 500, code: 'internal_error',
      detail: expect.stringContaining('request id'), requestId: 'req-abcdef-123',
    });
    expect(res.text).not.toContain('hunter2');
    const logged = logs.map((l) => JSON.parse(l)).find((l) => l.msg === 'unexpected error');
    expect(logged).toMatchObject({ requestId: 'req-abcdef-123', err: { message: 'database password is hunter2' } });
  });

  it('renders domain errors with their status, code and extension members', async () => {
    const res = await api.get('/conflict');
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'conflict', detail: 'Already there.', existingId: 'abc', requestId: expect.any(String) });
    expect(res.headers.get('x-request-id')).toBe(res.body.requestId);
  });
});
