-- What a generation covered and how its e-mail went; the file path stays server-side (file_url is the download route).
ALTER TABLE report_history ADD COLUMN trigger text NOT NULL DEFAULT 'schedule' CHECK (trigger IN ('schedule','manual'));
ALTER TABLE report_history ADD COLUMN format text CHECK (format IN ('csv','json','pdf'));
ALTER TABLE report_history ADD COLUMN range_from timestamptz;
ALTER TABLE report_history ADD COLUMN range_to timestamptz;
ALTER TABLE report_history ADD COLUMN file_path text;
ALTER TABLE report_history ADD COLUMN email_status text CHECK (email_status IN ('not_requested','sent','retrying','failed','not_configured'));
ALTER TABLE report_history ADD COLUMN email_attempts integer NOT NULL DEFAULT 0;
ALTER TABLE report_history ADD COLUMN email_error text;
ALTER TABLE report_history ADD COLUMN emailed_at timestamptz;
CREATE INDEX idx_report_history_email_retry ON report_history (generated_at) WHERE email_status = 'retrying';
