export { cacheAdminRoutes } from './cache-admin.routes.js';
export { readThrough, forgetRead, READ_CACHE_PREFIX, READ_TTL_MS, tenantReadPrefix } from './read-cache.js';
