/** Outcome of fetching one CID through an IPFS HTTP gateway. */
export type IpfsProbe = { ok: true; latencyMs: number; bytes: number; status: number } | { ok: false; reason: 'timeout' | 'network' | 'http_status'; message: string; latencyMs: number };

/** Fetches `<gateway>/ipfs/<cid>` entirely: latency is what a client loading NFT metadata waits. */
export async function probeIpfs(gatewayUrl: string, cid: string, timeoutMs: number, signal?: AbortSignal): Promise<IpfsProbe> {
  const url = `${gatewayUrl.replace(/\/+$/, '')}/ipfs/${encodeURIComponent(cid)}`;
  const timeout = AbortSignal.timeout(timeoutMs);
  const started = performance.now();
  try {
    const response = await fetch(url, { signal: signal === undefined ? timeout : AbortSignal.any([timeout, signal]) });
    const body = await response.arrayBuffer();
    const latencyMs = performance.now() - started;
    if (!response.ok) return { ok: false, reason: 'http_status', message: `gateway answered HTTP ${response.status}`, latencyMs };
    return { ok: true, latencyMs, bytes: body.byteLength, status: response.status };
  } catch (error) {
    const latencyMs = performance.now() - started;
    if (timeout.aborted) return { ok: false, reason: 'timeout', message: `no answer within ${timeoutMs} ms`, latencyMs };
    return { ok: false, reason: 'network', message: error instanceof Error ? error.message : String(error), latencyMs };
  }
}
