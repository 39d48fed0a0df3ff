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

export type Principal = UserPrincipal | ServicePrincipal;

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** Who did it, for audit columns (acknowledged_by, created_by...). */
export function actorOf(principal: Principal): string {
  return principal.kind === 'user' ? principal.subject : `service:${principal.service}`;
}
