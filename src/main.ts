import { DEV_TENANT_ID, describeDevelopmentSecrets, resolveSecrets } from './auth/dev-secrets.js';
import { signUserToken } from './auth/jwt.js';
import { buildApp } from './app.js';
import { ConfigError } from './errors.js';
import { loadConfig, withEnvFile } from './config.js';
import { createContainer } from './container.js';

/** Process entry: the only file that touches process (env, signals, exit codes). */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(withEnvFile(process.env, process.cwd()));
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }

  // Resolved once: the container verifies tokens with the same secrets the printed token is signed with.
  const secrets = resolveSecrets(config);
  const container = await createContainer({ config, secrets });
  const app = await buildApp(container);
  for (const warning of container.warnings) container.logger.warn(warning);
  await app.listen({ port: config.PORT, host: config.HOST });
  container.scheduler.start();

  // The admin token is printed only when it is signed with the development secret, never with a JWT_SECRET someone set.
  if (secrets.development !== undefined && config.JWT_SECRET === undefined && secrets.jwtSecret !== undefined) {
    const token = await signUserToken(secrets.jwtSecret, { sub: 'dev-admin', tenant_id: DEV_TENANT_ID, roles: ['admin'] }, '30d');
    process.stdout.write(
      `\nDevelopment mode: ${describeDevelopmentSecrets(secrets.development)}.\nAdmin token for tenant ${DEV_TENANT_ID} (30 days):\n\n  ${token}\n\n` +
        `Try: curl -H "Authorization: Bearer ${token.slice(0, 12)}..." http://localhost:${config.PORT}/api/v1/monitoring/metrics\n\n`,
    );
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    container.logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      container.logger.error('shutdown timed out; exiting');
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS + 1_000);
    force.unref();
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        container.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  // A configuration problem found while building the container (a production login that is the
  // schema owner, a bus without its broker) exits as a bad configuration does: 78, no stack.
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(78);
  }
  process.stderr.write(`Failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
