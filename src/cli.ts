import { readFileSync } from 'node:fs';
import { issueToken, parseTokenArguments, TOKEN_USAGE, TokenRefusedError, TokenUsageError } from './auth/token-command.js';
import { API_KEY_USAGE, ApiKeyUsageError, parseApiKeyArguments, runApiKeyCommand } from './auth/api-key-command.js';
import { ConfigError } from './errors.js';
import { parseSeriesCsv, scoreSeries } from './ml/anomaly/csv-scoring.js';

/**
 * Command-line entry:
 * - `node dist/cli.js score-anomalies` reads CSV `timestamp,value` (with header) on stdin and prints
 *   one anomaly score in [0,1] per row, each using only that row and earlier ones.
 * - `node dist/cli.js token --tenant <uuid> --role viewer` prints a user token (development only).
 * - `node dist/cli.js api-key create|list|revoke|rotate --tenant <uuid> ...` manages a tenant's API
 *   keys through the running service.
 * Exit codes: 0 done, 1 failed or refused, 2 bad arguments, 78 bad configuration (as the service).
 */
const usage = ['usage: node dist/cli.js score-anomalies < series.csv', TOKEN_USAGE, API_KEY_USAGE].join('\n');

function scoreAnomalies(): number {
  const rows = parseSeriesCsv(readFileSync(0, 'utf8'));
  const scores = scoreSeries(rows);
  process.stdout.write(scores.length === 0 ? '' : `${scores.join('\n')}\n`);
  return 0;
}

async function token(args: readonly string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${TOKEN_USAGE}\n`);
    return 0;
  }
  try {
    const issued = await issueToken(parseTokenArguments(args), process.env);
    // The token alone on stdout, so `TOKEN=$(node dist/cli.js token ...)` works; the rest on stderr.
    process.stdout.write(`${issued.token}\n`);
    process.stderr.write(`token: expires ${issued.expiresAt.toISOString()}; signed with ${issued.signedWith}\n`);
    return 0;
  } catch (error) {
    if (error instanceof TokenUsageError) {
      process.stderr.write(`token: ${error.message}\n${TOKEN_USAGE}\n`);
      return 2;
    }
    if (error instanceof TokenRefusedError) {
      process.stderr.write(`token: ${error.message}\n`);
      return 1;
    }
    if (error instanceof ConfigError) {
      process.stderr.write(`token: ${error.message}\n`);
      return 78;
    }
    throw error;
  }
}

async function apiKey(args: readonly string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${API_KEY_USAGE}\n`);
    return 0;
  }
  try {
    const command = parseApiKeyArguments(args);
    const outcome = await runApiKeyCommand(command, process.env);
    if (outcome.status >= 400) {
      process.stderr.write(`api-key: the service answered ${outcome.status}: ${JSON.stringify(outcome.body)}\n`);
      return 1;
    }
    const answer = (outcome.body ?? {}) as { key?: string; data?: unknown };
    if (typeof answer.key === 'string') {
      // The key alone on stdout, so `KEY=$(node dist/cli.js api-key create ...)` works.
      process.stdout.write(`${answer.key}\n`);
      process.stderr.write(`api-key: ${JSON.stringify(answer.data)}\n`);
    } else {
      process.stdout.write(`${JSON.stringify(answer.data, null, 2)}\n`);
    }
    return 0;
  } catch (error) {
    if (error instanceof ApiKeyUsageError) {
      process.stderr.write(`api-key: ${error.message}\n${API_KEY_USAGE}\n`);
      return 2;
    }
    if (error instanceof ConfigError) {
      process.stderr.write(`api-key: ${error.message}\n`);
      return 78;
    }
    throw error;
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...args] = argv;
  if (command === 'score-anomalies') return scoreAnomalies();
  if (command === 'token') return token(args);
  if (command === 'api-key') return apiKey(args);
  process.stderr.write(`${usage}\n`);
  return 2;
}

const command = process.argv[2] ?? 'cli';
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${command}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
