import { describe, expect, it } from 'vitest';
import { backtestFraud, blendedScore } from '../../src/analytics/fraud/fraud-backtest.js';

const settings = { weightPercent: 40, threshold: 50 };

describe('fraud backtest', () => {
  it('the blend serves when its flags match the investigations more often than the rules alone', () => {
    // Rules flag all four (score 55); the network knows the two legitimate bulk buyers.
    const holdout = [
      { ruleScore: 55, probability: 0.05, label: 0 },
      { ruleScore: 55, probability: 0.1, label: 0 },
      { ruleScore: 55, probability: 0.9, label: 1 },
      { ruleScore: 55, probability: 0.95, label: 1 },
    ];
    const result = backtestFraud(holdout, settings);
    expect(result).toEqual({ holdout: 4, rules: { accuracy: 0.5, precision: 0.5, recall: 1 }, network: { accuracy: 1, precision: 1, recall: 1 }, served_by: 'rules+network' });
  });

  it('the rules keep serving when the network is no better (a tie included)', () => {
    const holdout = [
      { ruleScore: 80, probability: 0.1, label: 1 },
      { ruleScore: 20, probability: 0.9, label: 0 },
    ];
    expect(backtestFraud(holdout, settings).served_by).toBe('rules');
    expect(backtestFraud([{ ruleScore: 90, probability: 0.9, label: 1 }], settings)).toMatchObject({ rules: { accuracy: 1 }, network: { accuracy: 1 }, served_by: 'rules' });
    expect(backtestFraud([], settings)).toMatchObject({ holdout: 0, rules: { accuracy: null, precision: null }, served_by: 'rules' });
  });

  it('blends as the check does: (1 - w) * rules + w * 100 * p, rounded', () => {
    expect(blendedScore(55, 0.05, 40)).toBe(35);
    expect(blendedScore(100, 1, 40)).toBe(100);
  });
});
