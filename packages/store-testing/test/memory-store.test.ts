import { createMemoryStore, describeMailStore } from '../src/index.js';

describeMailStore('MemoryStore', async (options) => ({
  store: createMemoryStore(options),
  cleanup: async () => {},
}));
