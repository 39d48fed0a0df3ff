import { Type, type Static } from '@sinclair/typebox';
import { ValidationError } from '../errors.js';
import type { Tx } from '../platform/db/index.js';
import { LABEL_NAME_PATTERN } from '../metrics/sample.js';
import { CHANNELS, parseChannels, type ChannelName } from './channels.js';
import { compileMatchers, MatcherSchema, normaliseMatchers, type Matcher } from './matchers.js';

const Seconds = (description: string, maximum = 7 * 86_400) => Type.Integer({ minimum: 0, maximum, description });

export const EscalationStepSchema = Type.Object(
  {
    wait_seconds: Seconds('wait after the previous step (or after the alert fired, for the first step)'),
    channels: Type.Array(Type.String(), { minItems: 1, maxItems: 4 }),
  },
  { additionalProperties: false },
);

export const EscalationChainSchema = Type.Object(
  {
    steps: Type.Array(EscalationStepSchema, { minItems: 1, maxItems: 10 }),
    repeat: Type.Integer({ minimum: 0, maximum: 5, default: 0, description: 'times the chain restarts from the first step after the last' }),
  },
  { additionalProperties: false },
);

export const InhibitRuleSchema = Type.Object(
  {
    name: Type.Optional(Type.String({ maxLength: 200 })),
    source_matchers: Type.Array(MatcherSchema, { minItems: 1 }),
    target_matchers: Type.Array(MatcherSchema, { minItems: 1 }),
    equal: Type.Array(Type.String({ pattern: LABEL_NAME_PATTERN }), { default: [] }),
  },
  { additionalProperties: false },
);

export const PolicySchema = Type.Object(
  {
    channels: Type.Array(Type.String(), { maxItems: 4, description: 'channels notified for alerts whose rule names none' }),
    group_by: Type.Array(Type.String({ pattern: LABEL_NAME_PATTERN }), { maxItems: 20 }),
    group_wait_seconds: Seconds('delay of the first notification of a new group', 3600),
    group_interval_seconds: Type.Integer({ minimum: 1, maximum: 86_400, description: 'tick after which a changed group is notified again' }),
    repeat_interval_seconds: Type.Integer({ minimum: 1, maximum: 7 * 86_400, description: 'resend of an unchanged firing group' }),
    send_resolved: Type.Boolean(),
    inhibit_rules: Type.Array(InhibitRuleSchema, { maxItems: 50 }),
    escalation: Type.Object(
      {
        info: Type.Optional(EscalationChainSchema),
        warning: Type.Optional(EscalationChainSchema),
        error: Type.Optional(EscalationChainSchema),
        critical: Type.Optional(EscalationChainSchema),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type PolicyInput = Static<typeof PolicySchema>;

const SEVERITIES = ['info', 'warning', 'error', 'critical'] as const;
// `nullable` rather than a union with null: ajv ignores (and in strict mode refuses) the chain's defaults inside anyOf.
const ChainPatch = Type.Optional(
  Type.Unsafe<Static<typeof EscalationChainSchema> | null>({ ...EscalationChainSchema, nullable: true, description: "a chain replaces the severity's chain; null removes it" }),
);

/**
 * A partial policy (PATCH): the fields sent replace the stored ones, the others are kept. Within
 * `escalation`, each severity sent replaces that chain (null removes it), as in a JSON merge
 * patch (RFC 7396); lists (channels, inhibit_rules, steps) are replaced whole.
 */
export const PolicyPatchSchema = Type.Composite(
  [
    Type.Partial(Type.Omit(PolicySchema, ['escalation'])),
    Type.Object({ escalation: Type.Optional(Type.Object({ info: ChainPatch, warning: ChainPatch, error: ChainPatch, critical: ChainPatch }, { additionalProperties: false })) }),
  ],
  { additionalProperties: false, minProperties: 1 },
);
export type PolicyPatch = Static<typeof PolicyPatchSchema>;

export interface EscalationChain {
  steps: Array<{ wait_seconds: number; channels: ChannelName[] }>;
  repeat: number;
}
export interface InhibitRule {
  name?: string;
  source_matchers: Matcher[];
  target_matchers: Matcher[];
  equal: string[];
}
export interface Policy {
  channels: ChannelName[];
  group_by: string[];
  group_wait_seconds: number;
  group_interval_seconds: number;
  repeat_interval_seconds: number;
  send_resolved: boolean;
  inhibit_rules: InhibitRule[];
  escalation: Partial<Record<'info' | 'warning' | 'error' | 'critical', EscalationChain>>;
}

/** Alertmanager's timer defaults, the audit's escalation table and its service_down inhibition. */
export const DEFAULT_POLICY: Policy = {
  channels: [...CHANNELS],
  group_by: ['alertname', 'service'],
  group_wait_seconds: 30,
  group_interval_seconds: 300,
  repeat_interval_seconds: 4 * 3600,
  send_resolved: true,
  inhibit_rules: [
    {
      name: 'service_down mutes the other alerts of that service',
      source_matchers: [{ name: 'alertname', value: 'service_down', is_regex: false, is_equal: true }],
      target_matchers: [{ name: 'alertname', value: 'service_down', is_regex: false, is_equal: false }],
      equal: ['service'],
    },
  ],
  escalation: {
    // Levels 1, 2, 3 after 5, 15 and 30 minutes.
    critical: {
      steps: [
        { wait_seconds: 300, channels: ['slack', 'pagerduty'] },
        { wait_seconds: 600, channels: ['pagerduty', 'email'] },
        { wait_seconds: 900, channels: ['pagerduty', 'email', 'webhook'] },
      ],
      repeat: 0,
    },
    // Levels 1, 2 after 15 minutes and 1 hour.
    error: {
      steps: [
        { wait_seconds: 900, channels: ['slack'] },
        { wait_seconds: 2700, channels: ['slack', 'email'] },
      ],
      repeat: 0,
    },
  },
};

/** Checks what the schema cannot: channel names, regexes, timer consistency. */
export function validatePolicy(input: PolicyInput): Policy {
  const escalation: Policy['escalation'] = {};
  for (const severity of SEVERITIES) {
    const chain = input.escalation[severity];
    if (chain === undefined) continue;
    escalation[severity] = {
      repeat: chain.repeat,
      steps: chain.steps.map((step, index) => ({ wait_seconds: step.wait_seconds, channels: parseChannels(step.channels, `escalation.${severity}.steps.${index}.channels`) })),
    };
  }
  input.inhibit_rules.forEach((rule, index) => {
    compileMatchers(rule.source_matchers, `inhibit_rules.${index}.source_matchers`);
    compileMatchers(rule.target_matchers, `inhibit_rules.${index}.target_matchers`);
  });
  if (input.repeat_interval_seconds < input.group_interval_seconds) {
    throw new ValidationError('repeat_interval_seconds must not be shorter than group_interval_seconds (repeats are checked on group_interval ticks)', {
      field: 'repeat_interval_seconds',
    });
  }
  return {
    channels: parseChannels(input.channels, 'channels'),
    group_by: [...new Set(input.group_by)],
    group_wait_seconds: input.group_wait_seconds,
    group_interval_seconds: input.group_interval_seconds,
    repeat_interval_seconds: input.repeat_interval_seconds,
    send_resolved: input.send_resolved,
    inhibit_rules: input.inhibit_rules.map((rule) => ({ ...rule, equal: rule.equal })),
    escalation,
  };
}

function fromStored(raw: unknown): Policy {
  if (typeof raw !== 'object' || raw === null) return DEFAULT_POLICY;
  const stored = raw as Policy;
  return {
    ...DEFAULT_POLICY,
    ...stored,
    inhibit_rules: (stored.inhibit_rules ?? []).map((rule) => ({
      ...rule,
      source_matchers: normaliseMatchers(rule.source_matchers),
      target_matchers: normaliseMatchers(rule.target_matchers),
      equal: rule.equal ?? [],
    })),
  };
}

export async function loadPolicy(tx: Tx, tenantId: string): Promise<{ policy: Policy; updatedBy: string | null; updatedAt: Date | null }> {
  const result = await tx.query<{ policy: unknown; updated_by: string; updated_at: Date }>(
    'SELECT policy, updated_by, updated_at FROM alert_policies WHERE tenant_id = $1',
    [tenantId],
  );
  const row = result.rows[0];
  return row === undefined ? { policy: DEFAULT_POLICY, updatedBy: null, updatedAt: null } : { policy: fromStored(row.policy), updatedBy: row.updated_by, updatedAt: row.updated_at };
}

/** The stored policy with a patch applied, as a whole document that validatePolicy checks again. */
export function mergePolicy(current: Policy, patch: PolicyPatch): PolicyInput {
  const { escalation: escalationPatch, ...fields } = patch;
  const escalation: PolicyInput['escalation'] = { ...current.escalation };
  for (const severity of SEVERITIES) {
    const chain = escalationPatch?.[severity];
    if (chain === null) delete escalation[severity];
    else if (chain !== undefined) escalation[severity] = chain;
  }
  return { ...current, ...fields, escalation };
}

/**
 * Applies a patch to the tenant's policy in the caller's transaction: read, merge, validate, save.
 * Concurrent patches of one tenant take turns (a transaction-level lock), so none is lost.
 */
export async function patchPolicy(tx: Tx, tenantId: string, patch: PolicyPatch, by: string, at: Date): Promise<Policy> {
  await tx.query("SELECT pg_advisory_xact_lock(hashtext('alert_policies:' || $1))", [tenantId]);
  const { policy: current } = await loadPolicy(tx, tenantId);
  const policy = validatePolicy(mergePolicy(current, patch));
  await savePolicy(tx, tenantId, policy, by, at);
  return policy;
}

export async function savePolicy(tx: Tx, tenantId: string, policy: Policy, by: string, at: Date): Promise<void> {
  await tx.query(
    `INSERT INTO alert_policies (tenant_id, policy, updated_by, updated_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (tenant_id) DO UPDATE SET policy = EXCLUDED.policy, updated_by = EXCLUDED.updated_by, updated_at = EXCLUDED.updated_at`,
    [tenantId, JSON.stringify(policy), by, at],
  );
}
