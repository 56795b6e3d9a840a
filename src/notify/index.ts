export { Notifier, createNotifier, type NotifierOptions, type NotifierStats } from './notifier.js';
export {
  PAYLOAD_VERSION,
  SLACK_HOOKS_BASE,
  slackUrl,
  originOf,
  dnsChangeText,
  clusterVerdictText,
  selfCheckText,
  dnsChangePayload,
  clusterVerdictPayload,
  selfCheckPayload,
  slackPayload,
  type WebhookPayload,
  type NotificationType,
  type VerdictContext,
} from './message.js';
export { DELIVERY_DEFAULTS, classifyStatus, parseRetryAfter, backoffMs, type DeliveryOptions, type DeliveryCounters } from './delivery.js';
