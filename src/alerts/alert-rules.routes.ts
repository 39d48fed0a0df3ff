import { Type } from '@sinclair/typebox';
import { actorOf, principalOf, READ } from '../auth/index.js';
import type { Container } from '../container.js';
import { ConflictError, NotFoundError } from '../errors.js';
import type { App } from '../platform/http/types.js';
import { assertWithinQuota } from '../limits/index.js';
import { countRules, deleteRule, getRule, insertRule, listRules, ruleNameTaken, toRuleJson, updateRule, type RuleRow, type RuleValues } from './alert-rules.repository.js';
import { RuleCreateSchema, RuleSchema, RuleUpdateSchema, type RuleCreate } from './alert-rules.schema.js';
import { parseChannels } from './channels.js';
import { compileMatchers } from './matchers.js';

const ADMIN = { roles: ['admin'], services: false } as const;
const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

/** Applies defaults and the checks a schema cannot express (channel names, regexes). */
function ruleValues(input: RuleCreate): RuleValues {
  const matchers = input.label_matchers ?? [];
  compileMatchers(matchers, 'label_matchers');
  const annotations = Object.fromEntries(Object.entries(input.annotations ?? {}).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
  return {
    rule_name: input.rule_name,
    description: input.description ?? null,
    metric_name: input.metric_name,
    service_name: input.service_name ?? null,
    label_matchers: matchers,
    aggregation: input.aggregation ?? 'avg',
    window_seconds: input.window_seconds ?? 300,
    condition: input.condition,
    threshold: input.threshold,
    duration: input.duration ?? 0,
    keep_firing_for: input.keep_firing_for ?? 0,
    severity: input.severity,
    labels: input.labels ?? {},
    annotations,
    cooldown_seconds: input.cooldown_seconds ?? 0,
    no_data_state: input.no_data_state ?? 'ok',
    channels: input.channels === undefined || input.channels === null ? null : parseChannels(input.channels, 'channels'),
    enabled: input.enabled ?? true,
  };
}

const asInput = (row: RuleRow): RuleCreate => ({ ...row });

export function alertRulesRoutes(container: Container) {
  const { db, alerting, clock } = container;
  return async (app: App) => {
    app.get(
      '/api/v1/monitoring/alerts/rules',
      {
        preHandler: container.auth.require(READ),
        schema: { tags: ['alert rules'], summary: 'Alert rules (the five defaults are seeded on first use)', querystring: Type.Object({ enabled: Type.Optional(Type.Boolean()) }), response: { 200: Type.Object({ data: Type.Array(RuleSchema) }) } },
      },
      async (request) => {
        const { tenantId } = principalOf(request);
        await alerting.seedDefaults(tenantId);
        const rows = await db.withTenant(tenantId, (tx) => listRules(tx, tenantId, { enabled: request.query.enabled }));
        return { data: rows.map(toRuleJson) };
      },
    );

    app.get(
      '/api/v1/monitoring/alerts/rules/:id',
      { preHandler: container.auth.require(READ), schema: { tags: ['alert rules'], summary: 'One alert rule', params: IdParams, response: { 200: Type.Object({ data: RuleSchema }) } } },
      async (request) => {
        const { tenantId } = principalOf(request);
        const row = await db.withTenant(tenantId, (tx) => getRule(tx, tenantId, request.params.id));
        if (row === undefined) throw new NotFoundError('Alert rule', request.params.id);
        return { data: toRuleJson(row) };
      },
    );

    app.post(
      '/api/v1/monitoring/alerts/rules',
      { preHandler: container.auth.require(ADMIN), schema: { tags: ['alert rules'], summary: 'Create an alert rule', body: RuleCreateSchema, response: { 201: Type.Object({ data: RuleSchema }) } } },
      async (request, reply) => {
        const { tenantId } = principalOf(request);
        const values = ruleValues(request.body);
        await alerting.seedDefaults(tenantId);
        const row = await db.withTenant(tenantId, async (tx) => {
          await assertWithinQuota(tx, container.limits, { limit: 'rules', tenantId, what: 'alert rules', count: () => countRules(tx, tenantId) });
          return insertRule(tx, tenantId, values, false, clock.now());
        });
        if (row === undefined) throw new ConflictError(`A rule named ${values.rule_name} already exists`, { rule_name: values.rule_name });
        return reply.status(201).send({ data: toRuleJson(row) });
      },
    );

    app.put(
      '/api/v1/monitoring/alerts/rules/:id',
      {
        preHandler: container.auth.require(ADMIN),
        schema: { tags: ['alert rules'], summary: 'Change an alert rule (fields not sent are kept)', params: IdParams, body: RuleUpdateSchema, response: { 200: Type.Object({ data: RuleSchema }) } },
      },
      async (request) => {
        const { tenantId } = principalOf(request);
        const { id } = request.params;
        const row = await db.withTenant(tenantId, async (tx) => {
          const current = await getRule(tx, tenantId, id);
          if (current === undefined) throw new NotFoundError('Alert rule', id);
          const values = ruleValues({ ...asInput(current), ...request.body });
          if (values.rule_name !== current.rule_name && (await ruleNameTaken(tx, tenantId, values.rule_name, id))) {
            throw new ConflictError(`A rule named ${values.rule_name} already exists`, { rule_name: values.rule_name });
          }
          return updateRule(tx, tenantId, id, values, clock.now());
        });
        if (row === undefined) throw new NotFoundError('Alert rule', id);
        return { data: toRuleJson(row) };
      },
    );

    app.delete(
      '/api/v1/monitoring/alerts/rules/:id',
      { preHandler: container.auth.require(ADMIN), schema: { tags: ['alert rules'], summary: 'Delete an alert rule; its open alerts are resolved', params: IdParams, response: { 204: Type.Null() } } },
      async (request, reply) => {
        const principal = principalOf(request);
        const { tenantId } = principal;
        const { id } = request.params;
        const changes = await db.withTenant(tenantId, async (tx) => {
          const open = await tx.query<{ id: string }>('SELECT id FROM alerts WHERE tenant_id = $1 AND rule_id = $2 AND resolved = false', [tenantId, id]);
          const resolved = [];
          for (const alert of open.rows) {
            const change = await container.alerts.resolveIn(tx, tenantId, { id: alert.id }, actorOf(principal), { reason: 'rule deleted' });
            if (change !== null) resolved.push(change);
          }
          if (!(await deleteRule(tx, tenantId, id))) throw new NotFoundError('Alert rule', id);
          return resolved;
        });
        await container.alerts.announce(changes);
        return reply.status(204).send(null);
      },
    );
  };
}
