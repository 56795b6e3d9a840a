export type { DropReason, Gossip, Observation, ObservationBatch, ObservationHandler, PeerStatus } from './types.js';
export { Keyring, swarmKeyFromSecret, SEALED_VERSION, type OpenFailure, type OpenResult } from './keyring.js';
export { CODEC_VERSION, canonicalIp, decodeBatch, encodeBatch } from './codec.js';
export { DEFAULT_TOPIC, PLAIN_VERSION, topicAad, unwrapBatch, wrapBatch, type UnwrapResult } from './envelope.js';
export {
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_MAX_SKEW_MS,
  ReplayGuard,
  emptyDropCounts,
  validateMessage,
  type ValidationContext,
  type ValidationResult,
} from './validate.js';
export { IdentityError, loadOrCreateIdentity, type IdentityErrorCode } from './identity.js';
export { createMemoryNetwork, type MemoryJoinOptions, type MemoryNetwork, type MemoryNetworkOptions } from './memory.js';
export { createLibp2pGossip, dropMetricsRegister, parsePeerAddress, type Libp2pGossip, type Libp2pGossipOptions, type PeerAddress } from './node.js';
export { GossipListenError } from './errors.js';
export { PeerGate, REFUSED_PEER_SCORE, type PeerGateOptions, type StrikeVerdict } from './gate.js';
export {
  MSS_HEADER,
  MultiKeyPnet,
  PNET_NONCE_BYTES,
  PnetKeyMismatchError,
  decodeSwarmKey,
  multiKeyPreSharedKey,
  type MultiKeyPnetInit,
  type MultiKeyPnetStats,
} from './pnet.js';
