import { z } from 'zod';
import type { ApiRoute, RouteCatalog } from './api-routes.js';
import { noBody } from './validate.js';

type JsonSchema = Record<string, unknown> & { properties?: Record<string, unknown>; required?: string[] };

// Input shapes (what a client sends); transforms and refinements cannot be expressed and are left out.
function jsonSchemaOf(schema: z.ZodType): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

function parametersOf(schema: z.ZodType | undefined, where: 'path' | 'query') {
  if (!schema) return [];
  const json = jsonSchemaOf(schema);
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name, in: where, required: where === 'path' || (json.required ?? []).includes(name), schema: property,
  }));
}

const STATUS_TEXT = { 200: 'OK', 201: 'Created', 204: 'No content' } as const;
const ACCESS_TEXT: Partial<Record<ApiRoute['access'], string>> = {
  admin: 'Administrators only.',
  'org-admin': "Administrators, or the organization's own admins; to anyone else the organization does not exist (404).",
  application: "The application's back end, with an access token of its own client from the client_credentials grant.",
};

function securityOf(access: ApiRoute['access']) {
  if (access === 'anyone') return [];
  return access === 'application' ? [{ clientCredentials: [] }] : [{ session: [] }, { sessionCookie: [] }];
}

function operationOf(route: ApiRoute) {
  const { params, query, body } = route.schemas;
  return {
    summary: route.summary,
    tags: [route.path.split('/')[3]], // /api/v1/<tag>/...
    security: securityOf(route.access),
    ...(ACCESS_TEXT[route.access] ? { description: ACCESS_TEXT[route.access] } : {}),
    parameters: [...parametersOf(params, 'path'), ...parametersOf(query, 'query')],
    ...(body && body !== noBody ? { requestBody: { required: !body.safeParse(undefined).success, content: { 'application/json': { schema: jsonSchemaOf(body) } } } } : {}),
    responses: {
      [route.status]: { description: STATUS_TEXT[route.status] },
      '4XX': { description: 'A problem (RFC 9457)', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } },
    },
  };
}

/** The OpenAPI 3.1 document of the management API, generated from the routes' own schemas. */
export function buildOpenApiDocument(catalog: RouteCatalog, issuer: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of catalog) {
    const path = route.path.replace(/:(\w+)/g, '{$1}');
    (paths[path] ??= {})[route.method] = operationOf(route);
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Portico management API', version: '1' },
    servers: [{ url: issuer }],
    paths,
    components: {
      securitySchemes: {
        session: { type: 'http', scheme: 'bearer', description: 'The session token from POST /api/v1/auth/login.' },
        sessionCookie: { type: 'apiKey', in: 'cookie', name: 'portico_session', description: 'Unsafe methods also need the X-CSRF-Token header.' },
        clientCredentials: { type: 'oauth2', flows: { clientCredentials: { tokenUrl: `${issuer}/oauth2/token`, scopes: {} } } },
      },
      schemas: {
        Problem: {
          type: 'object',
          properties: {
            type: { type: 'string' }, title: { type: 'string' }, status: { type: 'integer' }, detail: { type: 'string' },
            code: { type: 'string' }, errors: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } } },
          },
          required: ['title', 'status', 'code'],
        },
      },
    },
  };
}
