export const ROLES = ['admin', 'operator', 'monitoring', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export interface UserPrincipal {
  kind: 'user';
  subject: string;
  tenantId: string;
  roles: Role[];
}

export interface ServicePrincipal {
  kind: 'service';
  service: string;
  tenantId: string;
}

export const API_KEY_SCOPES = ['ingest', 'read', 'alerts'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/** A machine with an API key of the tenant: may do what its scopes allow, nothing else. */
export interface KeyPrincipal {
  kind: 'key';
  keyId: string;
  name: string;
  tenantId: string;
  scopes: ApiKeyScope[];
}

export type Principal = UserPrincipal | ServicePrincipal | KeyPrincipal;

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** Who did it, for audit columns (acknowledged_by, created_by...). */
export function actorOf(principal: Principal): string {
  if (principal.kind === 'user') return principal.subject;
  return principal.kind === 'key' ? `key:${principal.name}` : `service:${principal.service}`;
}
