import type { TestApp } from '../support/app.js';
import { HttpReceiver, okResponder, pagerDutyResponder, slackResponder } from '../support/receivers.js';
import { startSmtpServer } from '../support/smtp.js';
import { putReceiver } from './fixtures.js';

export const WEBHOOK_SECRET = 'webhook-secret-for-tests-0123456789';

/**
 * SMTP, Slack, PagerDuty and webhook receivers on 127.0.0.1 and the environment pointing at them.
 * The environment's receivers serve the platform tenant (SYSTEM_TENANT_ID) only: `configure`
 * gives another tenant the same receivers through the API, as its admin would.
 */
export async function startReceivers() {
  const smtp = await startSmtpServer();
  const slack = await new HttpReceiver(slackResponder()).up();
  const pagerDuty = await new HttpReceiver(pagerDutyResponder).up();
  const webhook = await new HttpReceiver(okResponder).up();
  const env = {
    SMTP_HOST: '127.0.0.1', SMTP_PORT: String(smtp.port), ALERT_EMAIL_TO: 'oncall@example.com',
    SLACK_TOKEN: 'xoxb-test-token', SLACK_CHANNEL: 'C0ALERTS', SLACK_API_URL: `${slack.url}/api/`,
    PAGERDUTY_ROUTING_KEY: 'R0UT1NGKEY0000000000000000000000', PAGERDUTY_EVENTS_URL: `${pagerDuty.url}/v2/enqueue`,
    WEBHOOK_URL: `${webhook.url}/hooks/alerts`, WEBHOOK_SECRET,
    NOTIFICATION_BACKOFF_BASE_MS: '1000', NOTIFICATION_BACKOFF_MAX_MS: '60000',
  };
  return {
    smtp, slack, pagerDuty, webhook, env,
    async configure(t: TestApp, tenantId: string): Promise<void> {
      await putReceiver(t, tenantId, 'email', { to: [env.ALERT_EMAIL_TO] });
      await putReceiver(t, tenantId, 'slack', { channel: env.SLACK_CHANNEL, token: env.SLACK_TOKEN });
      await putReceiver(t, tenantId, 'pagerduty', { routing_key: env.PAGERDUTY_ROUTING_KEY });
      await putReceiver(t, tenantId, 'webhook', { url: env.WEBHOOK_URL, secret: WEBHOOK_SECRET });
    },
    reset() {
      for (const receiver of [slack, pagerDuty, webhook]) receiver.reset();
      slack.respondWith(slackResponder());
      pagerDuty.respondWith(pagerDutyResponder);
      webhook.respondWith(okResponder);
      smtp.messages.length = 0;
    },
    async close() {
      await Promise.all([slack.down(), pagerDuty.down(), webhook.down(), smtp.close()]);
    },
  };
}
