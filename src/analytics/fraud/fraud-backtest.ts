/**
 * Which fraud score serves: the rules alone (the baseline) or rules blended with the tenant's network.
 * Decided on the newest investigated events, held out of training, by how often the flag (score at or
 * above the store threshold) matched the investigation.
 */
export type FraudScorer = 'rules' | 'rules+network';

export interface FlagQuality {
  accuracy: number | null;
  precision: number | null;
  recall: number | null;
}

export interface FraudBacktest {
  holdout: number;
  rules: FlagQuality;
  network: FlagQuality;
  served_by: FraudScorer;
}

export const blendedScore = (ruleScore: number, probability: number, weightPercent: number) => Math.round((1 - weightPercent / 100) * ruleScore + (weightPercent / 100) * 100 * probability);

function quality(flags: readonly boolean[], labels: readonly number[]): FlagQuality {
  let truePositive = 0;
  let falsePositive = 0;
  let falseNegative = 0;
  let correct = 0;
  flags.forEach((flagged, index) => {
    const fraud = labels[index] === 1;
    if (flagged === fraud) correct += 1;
    if (flagged && fraud) truePositive += 1;
    else if (flagged) falsePositive += 1;
    else if (fraud) falseNegative += 1;
  });
  const ratio = (part: number, whole: number) => (whole === 0 ? null : part / whole);
  return { accuracy: ratio(correct, flags.length), precision: ratio(truePositive, truePositive + falsePositive), recall: ratio(truePositive, truePositive + falseNegative) };
}

/** The network serves only when its flags were right more often than the rules' (a tie keeps the rules). */
export function backtestFraud(holdout: ReadonlyArray<{ ruleScore: number; probability: number; label: number }>, settings: { weightPercent: number; threshold: number }): FraudBacktest {
  const labels = holdout.map((example) => example.label);
  const rules = quality(holdout.map((example) => example.ruleScore >= settings.threshold), labels);
  const network = quality(holdout.map((example) => blendedScore(example.ruleScore, example.probability, settings.weightPercent) >= settings.threshold), labels);
  const better = rules.accuracy !== null && network.accuracy !== null && network.accuracy > rules.accuracy;
  return { holdout: holdout.length, rules, network, served_by: better ? 'rules+network' : 'rules' };
}
