import type { Config } from '../../config.js';
import type { Channel } from './channel.js';
import type { EmailSender } from './email.js';
import { textOf, titleOf } from './payload.js';

const escape = (text: string) => text.replace(/[&<>"]/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[char] ?? char);

export function createEmailChannel(config: Config, sender: EmailSender): Channel {
  const notConfigured = sender.notConfigured ?? (config.ALERT_EMAIL_TO.length === 0 ? 'alert e-mail is not configured (set ALERT_EMAIL_TO)' : null);
  return {
    name: 'email',
    notConfigured,
    async send(message) {
      const text = textOf(message.payload, config.ALERT_EXTERNAL_URL);
      return sender.send({ to: config.ALERT_EMAIL_TO, subject: titleOf(message.payload), text, html: `<pre>${escape(text)}</pre>` });
    },
  };
}
