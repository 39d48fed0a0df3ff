import { describe, expect, it } from "vitest";
import { decodeDelivery } from "../../../src/platform/bus/decode.js";

/** The decode-or-park decision both broker adapters make before any handler runs. */
describe("decodeDelivery", () => {
  it("decodes a JSON value with text headers (Kafka) or a JSON headers field (Redis Streams)", () => {
    const bytes = new TextEncoder().encode('{"id":"é"}');
    expect(
      decodeDelivery({
        key: "k",
        value: bytes,
        headers: { origin: "ticket-service" },
      }),
    ).toEqual({
      ok: true,
      key: "k",
      value: { id: "é" },
      headers: { origin: "ticket-service" },
    });
    expect(
      decodeDelivery({
        key: undefined,
        value: "42",
        headers: '{"origin":"x"}',
      }),
    ).toEqual({
      ok: true,
      key: undefined,
      value: 42,
      headers: { origin: "x" },
    });
    expect(
      decodeDelivery({ key: undefined, value: "null", headers: undefined }),
    ).toEqual({ ok: true, key: undefined, value: null, headers: {} });
  });

  it("parks a value that is not JSON with its raw text, its headers and why", () => {
    const decoded = decodeDelivery({
      key: "k",
      value: Buffer.from("not json {"),
      headers: { origin: "ticket-service" },
    });
    expect(decoded).toMatchObject({ ok: false, reason: "value-not-json" });
    if (decoded.ok) return;
    expect(decoded.parked.key).toBe("k");
    expect(decoded.parked.value).toBe("not json {");
    expect(decoded.parked.headers).toMatchObject({
      origin: "ticket-service",
      "parked-attempts": "0",
      "parked-value": "raw-text",
    });
    expect(decoded.parked.headers?.["parked-reason"]).toMatch(
      /^undecodable: the value is not JSON/,
    );
    expect(
      decodeDelivery({ key: undefined, value: "", headers: undefined }),
    ).toMatchObject({
      ok: false,
      reason: "value-not-json",
      parked: { value: "" },
    });
  });

  it("parks a Kafka tombstone and a stream entry without a value field as value-missing, with a null value", () => {
    for (const value of [null, undefined]) {
      const decoded = decodeDelivery({ key: "k", value, headers: {} });
      expect(decoded).toMatchObject({
        ok: false,
        reason: "value-missing",
        parked: {
          key: "k",
          value: null,
          headers: {
            "parked-value": "absent",
            "parked-reason": "undecodable: the message has no value",
          },
        },
      });
    }
  });

  it("parks bytes that are not UTF-8 as base64, so they are kept exactly", () => {
    const bytes = Uint8Array.from([0xff, 0xfe, 0x7b, 0x00]);
    const decoded = decodeDelivery({
      key: undefined,
      value: bytes,
      headers: {},
    });
    expect(decoded).toMatchObject({
      ok: false,
      reason: "value-not-utf8",
      parked: { headers: { "parked-value": "base64" } },
    });
    if (decoded.ok) return;
    expect(Buffer.from(String(decoded.parked.value), "base64")).toEqual(
      Buffer.from(bytes),
    );
  });

  it("parks headers that are not JSON, or not an object of strings, keeping their raw text and the value as text", () => {
    for (const headers of ['{"origin":', '["a"]', '{"attempt":1}', "null"]) {
      const decoded = decodeDelivery({
        key: undefined,
        value: '{"id":1}',
        headers,
      });
      expect(decoded).toMatchObject({
        ok: false,
        reason: "headers-invalid",
        parked: {
          value: '{"id":1}',
          headers: { "parked-headers": headers, "parked-value": "raw-text" },
        },
      });
    }
  });

  it("keeps a header named like a field of its own result", () => {
    expect(
      decodeDelivery({
        key: undefined,
        value: "1",
        headers: '{"error":"e","map":"m"}',
      }),
    ).toEqual({
      ok: true,
      key: undefined,
      value: 1,
      headers: { error: "e", map: "m" },
    });
  });

  it("truncates a long parse error in parked-reason to 500 characters", () => {
    const decoded = decodeDelivery({
      key: undefined,
      value: `x${"y".repeat(5_000)}`,
      headers: {},
    });
    if (decoded.ok) throw new Error("decoded");
    expect(
      decoded.parked.headers?.["parked-reason"]?.length,
    ).toBeLessThanOrEqual(500);
    expect(decoded.parked.value).toHaveLength(5_001);
  });
});
