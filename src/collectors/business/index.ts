export { createBusinessCollector, collectionWindow, BUSINESS_COLLECTOR, type BusinessCollectorDeps } from './business.collector.js';
