export * from './principal.js';
export * from './authenticate.js';
export { createHmacVerifier, createSigner, signingString, sha256Hex, hmacHex, safeEqual, HMAC_HEADERS, type Signer, type SignedHeaders } from './hmac.js';
export { jwtKeyFrom, signUserToken, verifyUserToken, type JwtKey } from './jwt.js';
export { createMetricsGuard, createIpAllowlist } from './metrics-guard.js';
