import { parseArgs } from 'node:util';
import { loadConfig, type Environment } from '../config.js';
import { isUuid } from '../platform/db/db.js';
import { resolveSecrets } from './dev-secrets.js';
import { createSigner } from './hmac.js';
import { API_KEY_SCOPES, type ApiKeyScope } from './principal.js';

/**
 * `node dist/cli.js api-key`: an operator's hands on a tenant's API keys, through the running
 * service's own API, signed with the service's HMAC secret as the service itself (the CLI runs
 * where the service's secrets are; it never opens the database, which the embedded default
 * cannot share with a running process).
 */
export const API_KEY_USAGE = [
  `usage: node dist/cli.js api-key create --tenant <uuid> --scope <${API_KEY_SCOPES.join('|')}> [--scope ...] [--name <name>] [--expires-at <ISO date>] [--url <service url>]`,
  '       node dist/cli.js api-key list   --tenant <uuid> [--url <service url>]',
  '       node dist/cli.js api-key revoke --tenant <uuid> --id <key id> [--url <service url>]',
  '       node dist/cli.js api-key rotate --tenant <uuid> --id <key id> [--url <service url>]',
  '  create and rotate print the key alone on stdout (shown this once), the rest on stderr.',
  '  --url  the running service (default http://127.0.0.1:$PORT); signed with INTERNAL_HMAC_SECRET (or the development secret under DATA_DIR)',
].join('\n');

const ACTIONS = ['create', 'list', 'revoke', 'rotate'] as const;
type Action = (typeof ACTIONS)[number];

export class ApiKeyUsageError extends Error {
  override readonly name = 'ApiKeyUsageError';
}

export interface ApiKeyCommand {
  action: Action;
  tenantId: string;
  scopes: ApiKeyScope[];
  name: string;
  expiresAt?: string;
  id?: string;
  url?: string;
}

const isAction = (value: string | undefined): value is Action => value !== undefined && (ACTIONS as readonly string[]).includes(value);
const isScope = (value: string): value is ApiKeyScope => (API_KEY_SCOPES as readonly string[]).includes(value);

export function parseApiKeyArguments(args: readonly string[]): ApiKeyCommand {
  const [action, ...rest] = args;
  if (!isAction(action)) throw new ApiKeyUsageError(`the first argument is one of ${ACTIONS.join(', ')} (got ${JSON.stringify(action ?? '')})`);
  let values: { tenant?: string; scope?: string[]; name?: string; 'expires-at'?: string; id?: string; url?: string };
  try {
    ({ values } = parseArgs({
      args: rest,
      options: { tenant: { type: 'string' }, scope: { type: 'string', multiple: true }, name: { type: 'string' }, 'expires-at': { type: 'string' }, id: { type: 'string' }, url: { type: 'string' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new ApiKeyUsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.tenant === undefined || !isUuid(values.tenant)) throw new ApiKeyUsageError('--tenant <uuid> is required');
  const scopes = (values.scope ?? []).flatMap((item) => item.split(',')).map((item) => item.trim());
  const unknown = scopes.filter((scope) => !isScope(scope));
  if (unknown.length > 0) throw new ApiKeyUsageError(`unknown scope ${unknown.map((item) => JSON.stringify(item)).join(', ')}: scopes are ${API_KEY_SCOPES.join(', ')}`);
  if (action === 'create' && scopes.length === 0) throw new ApiKeyUsageError(`--scope is required: one or more of ${API_KEY_SCOPES.join(', ')}`);
  if ((action === 'revoke' || action === 'rotate') && (values.id === undefined || !isUuid(values.id))) throw new ApiKeyUsageError('--id <key id> is required');
  return { action, tenantId: values.tenant.toLowerCase(), scopes: [...new Set(scopes.filter(isScope))], name: values.name ?? 'api-key-cli', expiresAt: values['expires-at'], id: values.id, url: values.url };
}

export interface ApiKeyOutcome {
  /** HTTP status of the service's answer. */
  status: number;
  /** The answer's JSON. */
  body: unknown;
}

/** Calls the service's API for the command, signed as the service. */
export async function runApiKeyCommand(command: ApiKeyCommand, env: Environment): Promise<ApiKeyOutcome> {
  const config = loadConfig(env);
  const secret = config.INTERNAL_HMAC_SECRET ?? resolveSecrets(config).hmacSecret;
  const sign = createSigner(secret, config.SERVICE_NAME);
  const base = (command.url ?? `http://127.0.0.1:${config.PORT}`).replace(/\/+$/, '');
  const path = {
    create: '/api/v1/monitoring/api-keys',
    list: '/api/v1/monitoring/api-keys',
    revoke: `/api/v1/monitoring/api-keys/${command.id ?? ''}`,
    rotate: `/api/v1/monitoring/api-keys/${command.id ?? ''}/rotate`,
  }[command.action];
  const method = { create: 'POST', list: 'GET', revoke: 'DELETE', rotate: 'POST' }[command.action];
  const body = command.action === 'create' ? JSON.stringify({ name: command.name, scopes: command.scopes, ...(command.expiresAt === undefined ? {} : { expires_at: command.expiresAt }) }) : undefined;
  const headers: Record<string, string> = { ...sign({ method, path, body, tenantId: command.tenantId }) };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${base}${path}`, { method, headers, body });
  return { status: response.status, body: await response.json().catch(() => null) };
}
