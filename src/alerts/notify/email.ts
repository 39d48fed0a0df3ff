import nodemailer, { type Transporter } from 'nodemailer';
import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import type { DeliveryOutcome } from './outcome.js';

export interface EmailMessage {
  to: string | string[];
  subject: string;
  text: string;
  html?: string;
  headers?: Record<string, string>;
  attachments?: Array<{ filename: string; content: string | Buffer; contentType?: string }>;
}

export interface EmailSender {
  /** Why e-mail cannot be sent (variable to set), or null when SMTP is configured. */
  readonly notConfigured: string | null;
  send(message: EmailMessage): Promise<DeliveryOutcome>;
  close(): void;
}

interface SmtpError {
  responseCode?: number;
  code?: string;
  message: string;
}

const asSmtpError = (error: unknown): SmtpError => {
  if (typeof error !== 'object' || error === null) return { message: typeof error === 'string' ? error : 'unknown SMTP error' };
  const record = error as Record<string, unknown>;
  return {
    responseCode: typeof record['responseCode'] === 'number' ? record['responseCode'] : undefined,
    code: typeof record['code'] === 'string' ? record['code'] : undefined,
    message: error instanceof Error ? error.message : 'unknown SMTP error',
  };
};

/** SMTP through nodemailer. Shared: alert notifications and scheduled reports send through it. */
export function createEmailSender(config: Config, logger: Logger): EmailSender {
  if (config.SMTP_HOST === undefined) {
    return { notConfigured: 'e-mail is not configured (set SMTP_HOST)', send: async () => ({ status: 'failed', error: 'e-mail is not configured (set SMTP_HOST)' }), close: () => undefined };
  }
  const transporter: Transporter = nodemailer.createTransport({
    host: config.SMTP_HOST,
    port: config.SMTP_PORT,
    secure: config.SMTP_SECURE,
    auth: config.SMTP_USER === undefined ? undefined : { user: config.SMTP_USER, pass: config.SMTP_PASS ?? '' },
    connectionTimeout: config.NOTIFICATION_TIMEOUT_MS,
    greetingTimeout: config.NOTIFICATION_TIMEOUT_MS,
    socketTimeout: config.NOTIFICATION_TIMEOUT_MS,
  });
  return {
    notConfigured: null,
    async send(message) {
      const to = Array.isArray(message.to) ? message.to : [message.to];
      if (to.length === 0) return { status: 'failed', error: 'no recipients' };
      try {
        const info = (await transporter.sendMail({ from: config.ALERT_EMAIL_FROM, ...message, to })) as { messageId?: unknown; accepted?: unknown };
        return { status: 'ok', response: { message_id: typeof info.messageId === 'string' ? info.messageId : null } };
      } catch (raw) {
        const error = asSmtpError(raw);
        logger.warn({ err: raw }, 'smtp send failed');
        // 5xx replies are permanent; 4xx replies and connection problems are worth retrying.
        if (error.responseCode !== undefined && error.responseCode >= 500) return { status: 'failed', error: error.message, statusCode: error.responseCode };
        return { status: 'retryable', error: error.message, statusCode: error.responseCode };
      }
    },
    close: () => transporter.close(),
  };
}
