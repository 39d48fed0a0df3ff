import { BlockList, isIP } from 'node:net';
import { Type, type Static } from '@sinclair/typebox';
import { medianOf } from '../../platform/stats.js';

export const FraudSignalsSchema = Type.Object(
  {
    user_id: Type.String({ minLength: 1, maxLength: 200 }),
    ip: Type.Optional(Type.String({ minLength: 2, maxLength: 45 })),
    user_agent: Type.Optional(Type.String({ maxLength: 1000 })),
    event_id: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    requests_per_minute: Type.Optional(Type.Number({ minimum: 0 })),
    payment_methods: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000 })),
    tickets: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000 })),
    distance_km: Type.Optional(Type.Number({ minimum: 0, description: 'distance from the last known location of the user' })),
    request_intervals_ms: Type.Optional(Type.Array(Type.Number({ minimum: 0 }), { maxItems: 1000, description: 'gaps between the last requests; near-constant gaps mean automation' })),
    mouse_movements: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
    keystroke_intervals_ms: Type.Optional(Type.Array(Type.Number({ minimum: 0 }), { maxItems: 1000 })),
    session_seconds: Type.Optional(Type.Number({ minimum: 0 })),
  },
  { additionalProperties: false },
);
export type FraudSignals = Static<typeof FraudSignalsSchema>;

export type FraudPattern = 'scalper' | 'bot' | 'network';
export type RiskLevel = 'low' | 'medium' | 'high' | 'critical';

export interface Reason {
  indicator: string;
  pattern: FraudPattern;
  weight: number;
  detail: string;
}

/** The audit's rule table, weights unchanged; vpn/datacenter weights are this service's choice. */
export const RULE_WEIGHTS = {
  rapid_requests: 30,
  multiple_payment_methods: 25,
  bulk_purchase: 35,
  geographic_anomaly: 20,
  automated_timing: 40,
  bot_user_agent: 50,
  no_mouse_movements: 30,
  inhuman_typing: 25,
  short_session: 20,
  vpn: 15,
  datacenter_ip: 20,
} as const;

const BOT_USER_AGENT = /bot|crawler|spider|scrapy|curl|wget|python-requests|python-urllib|aiohttp|httpclient|go-http-client|okhttp|java\/|libwww|headless|phantomjs|selenium|puppeteer|playwright|webdriver/i;

/** Requests this regular (coefficient of variation of the gaps) come from a script, not a person. */
const AUTOMATED_TIMING_CV = 0.1;
const MIN_INTERVALS = 5;


/** Coefficient of variation of request gaps; undefined when too few to judge. */
export function timingVariation(intervals: readonly number[] | undefined): number | undefined {
  if (intervals === undefined || intervals.length < MIN_INTERVALS) return undefined;
  const mean = intervals.reduce((a, b) => a + b, 0) / intervals.length;
  if (mean <= 0) return 0;
  const variance = intervals.reduce((a, b) => a + (b - mean) ** 2, 0) / intervals.length;
  return Math.sqrt(variance) / mean;
}

/** Median gap between keystrokes; undefined with fewer than 3 gaps. */
function keystrokeMedian(intervals: readonly number[] | undefined): number | undefined {
  return intervals !== undefined && intervals.length >= 3 ? medianOf(intervals) : undefined;
}

/** IP ranges from configuration (VPN providers, datacenters), matched with node's BlockList. */
export class IpRanges {
  private readonly list = new BlockList();
  readonly size: number;

  constructor(cidrs: readonly string[]) {
    for (const cidr of cidrs) {
      const [address = '', prefix] = cidr.split('/');
      const family = isIP(address);
      if (family === 0) throw new Error(`not an IP range: ${cidr}`);
      const type = family === 6 ? 'ipv6' : 'ipv4';
      if (prefix === undefined) this.list.addAddress(address, type);
      else this.list.addSubnet(address, Number(prefix), type);
    }
    this.size = cidrs.length;
  }

  contains(ip: string | undefined): boolean {
    if (ip === undefined || this.size === 0) return false;
    const family = isIP(ip);
    return family !== 0 && this.list.check(ip, family === 6 ? 'ipv6' : 'ipv4');
  }
}

export interface RuleOutcome {
  score: number;
  pattern: FraudPattern;
  reasons: Reason[];
  vpn: boolean;
  datacenter: boolean;
}

export function evaluateRules(signals: FraudSignals, ranges: { vpn: IpRanges; datacenter: IpRanges }): RuleOutcome {
  const reasons: Reason[] = [];
  const add = (indicator: keyof typeof RULE_WEIGHTS, pattern: FraudPattern, detail: string) => reasons.push({ indicator, pattern, weight: RULE_WEIGHTS[indicator], detail });
  const s = signals;
  if ((s.requests_per_minute ?? 0) > 60) add('rapid_requests', 'scalper', `${s.requests_per_minute} requests/min (> 60)`);
  if ((s.payment_methods ?? 0) > 3) add('multiple_payment_methods', 'scalper', `${s.payment_methods} payment methods (> 3)`);
  if ((s.tickets ?? 0) > 10) add('bulk_purchase', 'scalper', `${s.tickets} tickets (> 10)`);
  if ((s.distance_km ?? 0) > 1000) add('geographic_anomaly', 'scalper', `${s.distance_km} km from the last location (> 1000)`);
  const cv = timingVariation(s.request_intervals_ms);
  if (cv !== undefined && cv < AUTOMATED_TIMING_CV) add('automated_timing', 'scalper', `request gaps vary by ${(cv * 100).toFixed(1)}% (< ${AUTOMATED_TIMING_CV * 100}%)`);
  if (s.user_agent !== undefined && BOT_USER_AGENT.test(s.user_agent)) add('bot_user_agent', 'bot', `user agent "${s.user_agent.slice(0, 80)}"`);
  if (s.mouse_movements === 0) add('no_mouse_movements', 'bot', 'no mouse movements');
  const typing = keystrokeMedian(s.keystroke_intervals_ms);
  if (typing !== undefined && typing < 10) add('inhuman_typing', 'bot', `median keystroke interval ${typing} ms (< 10)`);
  if (s.session_seconds !== undefined && s.session_seconds < 5) add('short_session', 'bot', `session of ${s.session_seconds} s (< 5)`);
  const vpn = ranges.vpn.contains(s.ip);
  const datacenter = ranges.datacenter.contains(s.ip);
  if (vpn) add('vpn', 'network', `${s.ip} is in a VPN range`);
  if (datacenter) add('datacenter_ip', 'network', `${s.ip} is in a datacenter range`);

  const by: Record<FraudPattern, number> = { scalper: 0, bot: 0, network: 0 };
  for (const reason of reasons) by[reason.pattern] += reason.weight;
  const pattern: FraudPattern = by.bot > by.scalper ? 'bot' : by.scalper > 0 || by.network === 0 ? 'scalper' : 'network';
  return { score: Math.min(100, by.scalper + by.bot + by.network), pattern, reasons, vpn, datacenter };
}

export function riskLevelOf(score: number): RiskLevel {
  if (score >= 75) return 'critical';
  if (score >= 50) return 'high';
  if (score >= 25) return 'medium';
  return 'low';
}

/** The 10 inputs of the fraud network, each scaled so its rule threshold sits at 1 (capped at 3). */
export function featuresOf(signals: FraudSignals, outcome: Pick<RuleOutcome, 'vpn' | 'datacenter'>): number[] {
  const cap = (x: number) => Math.min(3, Math.max(0, x));
  const cv = timingVariation(signals.request_intervals_ms);
  const typing = keystrokeMedian(signals.keystroke_intervals_ms);
  return [
    cap((signals.requests_per_minute ?? 0) / 60),
    cap((signals.payment_methods ?? 0) / 3),
    cap((signals.tickets ?? 0) / 10),
    cap((signals.distance_km ?? 0) / 1000),
    cv === undefined ? 0 : cap(1 - cv),
    signals.user_agent !== undefined && BOT_USER_AGENT.test(signals.user_agent) ? 1 : 0,
    signals.mouse_movements === 0 ? 1 : 0,
    typing === undefined ? 0 : cap(10 / Math.max(typing, 1)),
    signals.session_seconds === undefined ? 0 : cap(5 / Math.max(signals.session_seconds, 0.5)),
    (outcome.vpn ? 0.5 : 0) + (outcome.datacenter ? 0.5 : 0),
  ];
}
