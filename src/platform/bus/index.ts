export * from './bus.js';
export { createMemoryBus } from './memory.js';
