import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RobustAnomalyDetector } from '../../src/ml/anomaly/robust-detector.js';

const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const STEP = 5 * 60_000;
const START = Date.UTC(2026, 0, 1);

/** A daily-seasonal series with deterministic pseudo-noise (no randomness: tests must repeat). */
function seasonal(rows: number): number[] {
  return Array.from({ length: rows }, (_, i) => 50 + 20 * Math.sin((2 * Math.PI * i) / 288) + 3 * Math.sin(i * 12.9898) * Math.cos(i * 78.233));
}

function csv(values: readonly number[]): string {
  const lines = values.map((value, i) => `${new Date(START + i * STEP).toISOString().replace('T', ' ').slice(0, 19)},${value}`);
  return `timestamp,value\n${lines.join('\n')}\n`;
}

function runCli(input: string): { status: number | null; scores: number[]; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', cli, 'score-anomalies'], { input, encoding: 'utf8' });
  return { status: result.status, stderr: result.stderr, scores: result.stdout.split('\n').filter((line) => line !== '').map(Number) };
}

describe('robust anomaly detector', () => {
  it('scores an injected spike far above the normal rows around it', () => {
    const values = seasonal(2000);
    values[1500] = (values[1500] ?? 0) + 60;
    const detector = new RobustAnomalyDetector();
    const scores = values.map((value, i) => detector.update(START + i * STEP, value));
    const normal = Math.max(...scores.slice(1200, 1499));
    expect(scores[1500]).toBeGreaterThan(0.7);
    expect(scores[1500]).toBeGreaterThan(normal + 0.2);
  });

  it('detects a level shift within a few rows', () => {
    const values = seasonal(2000).map((value, i) => (i >= 1500 ? value + 25 : value));
    const detector = new RobustAnomalyDetector();
    const scores = values.map((value, i) => detector.update(START + i * STEP, value));
    const normal = Math.max(...scores.slice(1200, 1499));
    expect(Math.max(...scores.slice(1500, 1512))).toBeGreaterThan(Math.max(0.6, normal + 0.1));
  });

  it('does not mask a stronger anomaly that follows a weaker alarm within the damping period', () => {
    const values = seasonal(2000);
    values[1500] = (values[1500] ?? 0) + 30;
    values[1560] = (values[1560] ?? 0) + 120;
    const detector = new RobustAnomalyDetector();
    const scores = values.map((value, i) => detector.update(START + i * STEP, value));
    const normal = Math.max(...scores.slice(1200, 1499));
    expect(scores[1500]).toBeGreaterThan(normal);
    expect(scores[1560]).toBeGreaterThan(0.7);
    // A weaker echo inside the damping period stays damped: one incident, one alarm.
    values[1600] = (values[1600] ?? 0) + 30;
    const again = new RobustAnomalyDetector();
    const rescored = values.map((value, i) => again.update(START + i * STEP, value));
    expect(rescored[1600]).toBeLessThan(0.5);
  });

  it('raises no alarm when the daily and weekly features come online on a clean series', () => {
    const detector = new RobustAnomalyDetector();
    const scores = seasonal(4400).map((value, i) => detector.update(START + i * STEP, value));
    // Daily slots are filled twice after 576 rows, weekly ones after 4032.
    expect(Math.max(...scores.slice(560, 700))).toBeLessThan(0.7);
    expect(Math.max(...scores.slice(4020, 4100))).toBeLessThan(0.7);
  });

  it('a clone continues exactly as the original would, and feeding it leaves the original untouched', () => {
    const values = seasonal(1500);
    const detector = new RobustAnomalyDetector();
    values.slice(0, 1000).forEach((value, i) => detector.update(START + i * STEP, value));
    const copy = detector.clone();
    const shifted = values.map((value, i) => (i >= 1000 ? value + 40 : value));
    const copyScores = shifted.slice(1000).map((value, i) => copy.update(START + (1000 + i) * STEP, value));
    const originalScores = values.slice(1000).map((value, i) => detector.update(START + (1000 + i) * STEP, value));
    const fresh = new RobustAnomalyDetector();
    const replayed = values.map((value, i) => fresh.update(START + i * STEP, value)).slice(1000);
    const freshShifted = new RobustAnomalyDetector();
    const replayedShifted = shifted.map((value, i) => freshShifted.update(START + i * STEP, value)).slice(1000);
    expect(originalScores).toEqual(replayed);
    expect(copyScores).toEqual(replayedShifted);
    expect(Math.max(...copyScores.slice(0, 12))).toBeGreaterThan(0.6);
  });

  it('gives every score in [0,1] and nothing during warm-up', () => {
    const detector = new RobustAnomalyDetector();
    const scores = seasonal(500).map((value, i) => detector.update(START + i * STEP, value));
    expect(scores.slice(0, 30).every((score) => score === 0)).toBe(true);
    expect(scores.every((score) => score >= 0 && score <= 1)).toBe(true);
  });
});

describe('score-anomalies CLI', () => {
  it('prints one score per row and is causal: scores of a prefix equal the first scores of the whole', () => {
    const values = seasonal(1200);
    values[900] = (values[900] ?? 0) - 70;
    const whole = runCli(csv(values));
    const prefix = runCli(csv(values.slice(0, 700)));
    expect(whole.status).toBe(0);
    expect(whole.scores).toHaveLength(1200);
    expect(prefix.scores).toHaveLength(700);
    expect(prefix.scores).toEqual(whole.scores.slice(0, 700));
    expect(whole.scores[900]).toBeGreaterThan(0.7);
  });

  it('refuses malformed input with a non-zero exit and no scores', () => {
    const result = runCli('timestamp,value\n2026-01-01 00:00:00,abc\n');
    expect(result.status).toBe(1);
    expect(result.scores).toHaveLength(0);
    expect(result.stderr).toContain('score-anomalies');
  });

  it('answers an unknown command with usage and exit 2', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', cli, 'nope'], { encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('usage');
  });
});
