import { Kafka, logLevel } from 'kafkajs';

export interface KafkaClusterInfo {
  clusterId: string;
  brokers: number;
  controller: number | null;
}

/**
 * Reads cluster metadata with a short-lived admin client (health checks): no retries, so a
 * dead broker answers within the timeout instead of after kafkajs' backoff schedule.
 */
export async function describeKafkaCluster(brokers: readonly string[], timeoutMs: number, clientId = 'monitoring-health'): Promise<KafkaClusterInfo> {
  const kafka = new Kafka({
    clientId,
    brokers: [...brokers],
    connectionTimeout: timeoutMs,
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return { clusterId: cluster.clusterId, brokers: cluster.brokers.length, controller: cluster.controller };
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
