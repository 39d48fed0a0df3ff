import type { OutgoingMessage } from "./bus.js";

/** Why a delivery could not be turned into a message; the `reason` label of the undecodable counter. */
export type UndecodableReason =
  "value-missing" | "value-not-utf8" | "value-not-json" | "headers-invalid";

/** A delivery as the broker holds it, before any parsing. */
export interface RawDelivery {
  key: string | undefined;
  /** Kafka: the value's bytes (null for a tombstone); Redis Streams: the `value` field (undefined when absent). */
  value: Uint8Array | string | null | undefined;
  /** Kafka: the headers, already text; Redis Streams: the JSON text of the `headers` field (undefined when absent). */
  headers: Record<string, string> | string | undefined;
}

export type Decoded =
  | {
      ok: true;
      key: string | undefined;
      value: unknown;
      headers: Record<string, string>;
    }
  | {
      ok: false;
      reason: UndecodableReason;
      detail: string;
      parked: OutgoingMessage;
    };

const utf8 = new TextDecoder("utf-8", { fatal: true });

const errorText = (error: unknown) =>
  error instanceof Error ? error.message : String(error);

const isStringRecord = (value: unknown): value is Record<string, string> =>
  typeof value === "object" &&
  value !== null &&
  !Array.isArray(value) &&
  Object.values(value).every((entry) => typeof entry === "string");

/** The value's text, or why there is none; bytes that are not UTF-8 are kept as base64. */
function valueText(
  value: RawDelivery["value"],
):
  | { text: string }
  | { reason: "value-missing" }
  | { reason: "value-not-utf8"; base64: string } {
  if (value === null || value === undefined) return { reason: "value-missing" };
  if (typeof value === "string") return { text: value };
  try {
    return { text: utf8.decode(value) };
  } catch {
    return {
      reason: "value-not-utf8",
      base64: Buffer.from(value).toString("base64"),
    };
  }
}

function headerMap(
  headers: RawDelivery["headers"],
): { map: Record<string, string> } | { error: string } {
  if (headers === undefined) return { map: {} };
  if (typeof headers !== "string") return { map: headers };
  try {
    const parsed: unknown = JSON.parse(headers);
    return isStringRecord(parsed)
      ? { map: parsed }
      : { error: "the headers are not a JSON object of strings" };
  } catch (error) {
    return { error: `the headers are not JSON (${errorText(error)})` };
  }
}

/**
 * Decode-or-park, shared by the broker adapters: a delivery whose value is JSON and whose headers
 * are an object of strings becomes a message for the handler; any other is never handed to a
 * handler (no retry can fix it) but parked as it came, so the adapter acknowledges it and the
 * partition moves on. The parked value is the raw text as a JSON string (`parked-value: raw-text`),
 * base64 of bytes that are not UTF-8 (`base64`) or null when there was none (`absent`), with the
 * original headers (or their raw text in `parked-headers`), `parked-reason` and `parked-attempts: 0`.
 */
export function decodeDelivery(raw: RawDelivery): Decoded {
  const headers = headerMap(raw.headers);
  const value = valueText(raw.value);
  const park = (reason: UndecodableReason, detail: string): Decoded => {
    const kept =
      "map" in headers
        ? headers.map
        : {
            "parked-headers":
              typeof raw.headers === "string" ? raw.headers : "",
          };
    const parkedValue =
      "text" in value
        ? { value: value.text, as: "raw-text" }
        : "base64" in value
          ? { value: value.base64, as: "base64" }
          : { value: null, as: "absent" };
    return {
      ok: false,
      reason,
      detail,
      parked: {
        key: raw.key,
        value: parkedValue.value,
        headers: {
          ...kept,
          "parked-reason": `undecodable: ${detail}`.slice(0, 500),
          "parked-attempts": "0",
          "parked-value": parkedValue.as,
        },
      },
    };
  };
  if ("reason" in value)
    return park(
      value.reason,
      value.reason === "value-missing"
        ? "the message has no value"
        : "the value is not UTF-8",
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.text);
  } catch (error) {
    return park(
      "value-not-json",
      `the value is not JSON (${errorText(error)})`,
    );
  }
  if ("error" in headers) return park("headers-invalid", headers.error);
  return { ok: true, key: raw.key, value: parsed, headers: headers.map };
}

/** A delivery an adapter parked undecoded, reported once it is parked (for the counter on /metrics). */
export interface UndecodableDelivery {
  topic: string;
  group: string;
  reason: UndecodableReason;
}
