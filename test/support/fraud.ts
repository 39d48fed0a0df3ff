/** Labelled synthetic fraud signals for tests and the fraud benchmark (seeded: runs repeat). */
export interface LabelledSignals {
  fraud: boolean;
  kind: 'human' | 'traveller' | 'power-user' | 'scalper' | 'bot' | 'stealth';
  signals: {
    user_id: string;
    ip: string;
    user_agent: string;
    requests_per_minute: number;
    payment_methods: number;
    tickets: number;
    distance_km: number;
    request_intervals_ms: number[];
    mouse_movements: number;
    keystroke_intervals_ms: number[];
    session_seconds: number;
  };
}

export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const BROWSER = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36';

export function syntheticSignals(count: number, seed = 7): LabelledSignals[] {
  const rand = seededRandom(seed);
  const between = (a: number, b: number) => a + (b - a) * rand();
  const int = (a: number, b: number) => Math.floor(between(a, b + 1));
  const gaps = (mean: number, cv: number) => Array.from({ length: 8 }, () => Math.max(1, mean * (1 + cv * (rand() * 2 - 1) * 1.7)));
  const keys = (lo: number, hi: number) => Array.from({ length: 6 }, () => between(lo, hi));
  const out: LabelledSignals[] = [];
  for (let i = 0; i < count; i++) {
    const roll = rand();
    const base = { user_id: `user-${seed}-${i}`, ip: `198.51.${int(0, 255)}.${int(1, 254)}`, user_agent: BROWSER };
    let kind: LabelledSignals['kind'];
    if (roll < 0.55) kind = 'human';
    else if (roll < 0.62) kind = 'traveller';
    else if (roll < 0.7) kind = 'power-user';
    else if (roll < 0.82) kind = 'scalper';
    else if (roll < 0.94) kind = 'bot';
    else kind = 'stealth';
    const human = { requests_per_minute: between(1, 30), payment_methods: int(1, 2), tickets: int(1, 6), distance_km: between(0, 300), request_intervals_ms: gaps(3000, 0.6), mouse_movements: int(20, 500), keystroke_intervals_ms: keys(80, 250), session_seconds: between(30, 900) };
    const signals =
      kind === 'human'
        ? human
        : kind === 'traveller'
          ? { ...human, distance_km: between(1200, 8000), payment_methods: int(1, 4) }
          : kind === 'power-user'
            ? { ...human, requests_per_minute: between(50, 90), tickets: int(6, 12) }
            : kind === 'scalper'
              ? { ...human, requests_per_minute: between(70, 300), payment_methods: int(2, 6), tickets: int(8, 30), request_intervals_ms: gaps(400, rand() < 0.6 ? 0.03 : 0.4) }
              : kind === 'bot'
                ? { ...human, mouse_movements: 0, keystroke_intervals_ms: keys(1, 8), session_seconds: between(0.5, 4.5), request_intervals_ms: gaps(800, 0.05) }
                : { ...human, tickets: int(9, 14), requests_per_minute: between(40, 70), session_seconds: between(4, 12) };
    const userAgent = kind === 'bot' && rand() < 0.5 ? 'python-requests/2.31' : base.user_agent;
    out.push({ fraud: kind === 'scalper' || kind === 'bot' || kind === 'stealth', kind, signals: { ...base, user_agent: userAgent, ...signals } });
  }
  return out;
}
