// SQL migrations (and any other non-TS assets under src/) ship next to the compiled code.
import { cpSync } from 'node:fs';

cpSync('src/platform/db/migrations', 'dist/platform/db/migrations', { recursive: true });
