import type { Config } from '../../config.js';
import type { Channel } from './channel.js';
import type { EmailSender } from './email.js';
import { textOf, titleOf } from './payload.js';

const escape = (text: string) => text.replace(/[&<>"]/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[char] ?? char);

export const TENANT_HEADER = 'X-Monitoring-Tenant-Id';

/** SMTP is the platform's relay for every tenant; the recipients are the tenant's. */
export function createEmailChannel(config: Config, sender: EmailSender): Channel<'email'> {
  return {
    name: 'email',
    unavailable: sender.notConfigured,
    async send(message, receiver) {
      const text = textOf(message.payload, config.ALERT_EXTERNAL_URL, message.tenant_id);
      return sender.send({ to: receiver.to, subject: titleOf(message.payload), text, html: `<pre>${escape(text)}</pre>`, headers: { [TENANT_HEADER]: message.tenant_id } });
    },
  };
}
